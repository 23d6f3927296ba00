import path from 'node:path'
import { InvalidFaultsError, runMockUpstream } from '@llmpool/testing'
import type { CliIo } from '../cli-io'
import type { Command } from '../command'
import { EXIT_CODES } from '../exit-codes'
import { parseCommandArgs } from '../parse'
import { UsageError } from '../usage-error'

const usage = `Usage: llmpool mock-upstream [--port N] [--host ADDRESS] [--faults FILE] [--seed N]

Starts the fault-injecting mock LLM upstream of @llmpool/testing: OpenAI Chat Completions (JSON and SSE),
Anthropic Messages and GET /v1/models. Prints its URL, serves until Ctrl-C, then prints what it received.
Point a configuration at it with base_url = "http://127.0.0.1:PORT/v1".

Options:
  --port N         port to listen on (default: a free one)
  --host ADDRESS   address to listen on (default 127.0.0.1)
  --faults FILE    faults per model, TOML or JSON (status codes, retry-after, latency, hangs, cut streams, ...)
  --seed N         seed of the random draws of rate-limited faults
  -h, --help       show this help
`

async function run(args: string[], io: CliIo) {
  const { values } = parseCommandArgs(
    'mock-upstream',
    args,
    { port: { type: 'string' }, host: { type: 'string' }, faults: { type: 'string' }, seed: { type: 'string' } },
    0,
  )
  if (values.help) {
    io.stdout.write(usage)
    return EXIT_CODES.ok
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(
      `llmpool mock-upstream: --port must be a whole number from 0 to 65535, got ${JSON.stringify(values.port)}`,
    )
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  if (seed !== undefined && !Number.isFinite(seed))
    throw new UsageError(`llmpool mock-upstream: --seed must be a number, got ${JSON.stringify(values.seed)}`)
  try {
    const stats = await runMockUpstream({
      port,
      host: values.host,
      faultsFile: values.faults === undefined ? undefined : path.resolve(io.cwd, values.faults),
      seed,
      signal: io.signal,
      output: io.stdout,
    })
    io.stderr.write(
      `stopped after ${stats.arrivals} requests (${stats.completed} completed, ${stats.failed} failed, ${stats.aborted} aborted)\n`,
    )
    return EXIT_CODES.ok
  } catch (error) {
    if (InvalidFaultsError.isInstance(error)) {
      io.stderr.write(`llmpool mock-upstream: invalid faults file: ${error.message}\n`)
      return EXIT_CODES.invalid
    }
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'ENOENT')
      throw new UsageError(`llmpool mock-upstream: ${(error as Error).message}`)
    throw error
  }
}

export const mockUpstreamCommand: Command = {
  name: 'mock-upstream',
  summary: 'run the fault-injecting mock LLM upstream',
  usage,
  run,
}
