#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { InvalidFaultsError } from './invalid-faults-error'
import { runMockUpstream } from './run-mock-upstream'

const USAGE = `Usage: llmpool-mock-upstream [--port N] [--host ADDRESS] [--faults FILE] [--seed N]

Starts a mock LLM upstream (OpenAI Chat Completions, Anthropic Messages, GET /v1/models), prints its URL and
serves until SIGINT or SIGTERM. FILE (TOML or JSON) sets faults per model and per API key; see the
@llmpool/testing README.
`

async function main(argv: string[]): Promise<number> {
  let values: { port?: string; host?: string; faults?: string; seed?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        faults: { type: 'string', short: 'f' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`--port must be an integer from 0 to 65535, got ${values.port}\n`)
    return 2
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  if (seed !== undefined && !Number.isFinite(seed)) {
    process.stderr.write(`--seed must be a number, got ${values.seed}\n`)
    return 2
  }
  try {
    const stats = await runMockUpstream({ port, host: values.host, faultsFile: values.faults, seed })
    process.stderr.write(
      `stopped after ${stats.arrivals} requests (${stats.completed} completed, ${stats.failed} failed, ${stats.aborted} aborted)\n`,
    )
    return 0
  } catch (error) {
    if (InvalidFaultsError.isInstance(error)) {
      process.stderr.write(`invalid faults file: ${error.message}\n`)
      for (const issue of error.issues.slice(1))
        process.stderr.write(`  ${issue.path ? `${issue.path}: ` : ''}${issue.message}\n`)
      return 2
    }
    process.stderr.write(`${(error as Error).message}\n`)
    return 1
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
