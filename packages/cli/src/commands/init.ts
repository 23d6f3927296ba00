import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { FILE_KINDS, jsonSchemaFileNames, toJsonSchema } from '@llmpool/schema'
import { DEFAULT_DIRECTORY } from '../check-directory'
import type { CliIo } from '../cli-io'
import type { Command } from '../command'
import { EXIT_CODES } from '../exit-codes'
import { json } from '../format'
import { INIT_FILES, INIT_MOCK_PORT, INIT_SCHEMA_DIRECTORY } from '../init-tree'
import { parseCommandArgs } from '../parse'
import { UsageError } from '../usage-error'

const usage = `Usage: llmpool init [DIR]

Writes a small, valid, commented configuration into DIR (default ${DEFAULT_DIRECTORY}): one pool, two task
groups of two echelons, a wrapper for each, and the JSON Schemas its "#:schema" lines name (${INIT_SCHEMA_DIRECTORY}/).
It points at the mock upstream (llmpool mock-upstream --port ${INIT_MOCK_PORT}) until OPENAI_BASE_URL and
OPENAI_API_KEY say otherwise. DIR must not exist, or be empty: init never overwrites a file.

Options:
  -h, --help     show this help
`

/** Why `directory` cannot take the tree, or undefined when it can (missing, or an empty directory). */
function refusal(directory: string, label: string): string | undefined {
  let stats: ReturnType<typeof statSync>
  try {
    stats = statSync(directory)
  } catch {
    return undefined
  }
  if (!stats.isDirectory()) return `${label} exists and is not a directory`
  if (readdirSync(directory).length > 0)
    return `${label} is not empty; init writes only into a new or empty directory, and never overwrites a file`
  return undefined
}

async function run(args: string[], io: CliIo) {
  const { values, positionals } = parseCommandArgs('init', args, {}, 1)
  if (values.help) {
    io.stdout.write(usage)
    return EXIT_CODES.ok
  }
  const label = positionals[0] ?? DEFAULT_DIRECTORY
  const directory = path.resolve(io.cwd, label)
  const refused = refusal(directory, label)
  if (refused) throw new UsageError(`llmpool init: ${refused}`, { help: 'llmpool init --help' })

  const files: Array<[string, string]> = [
    ...INIT_FILES.map(([file, text]): [string, string] => [file, text]),
    ...FILE_KINDS.map((kind): [string, string] => [
      `${INIT_SCHEMA_DIRECTORY}/${jsonSchemaFileNames[kind]}`,
      json(toJsonSchema(kind)),
    ]),
  ]
  try {
    for (const [file, text] of files) {
      const target = path.join(directory, file)
      mkdirSync(path.dirname(target), { recursive: true })
      // `wx`: fail rather than overwrite, should a file appear between the check above and now.
      writeFileSync(target, text, { flag: 'wx' })
    }
  } catch (error) {
    const reason = (error as { code?: unknown }).code ?? (error instanceof Error ? error.message : String(error))
    throw new UsageError(`llmpool init: cannot write to ${label} (${String(reason)})`, { cause: error })
  }
  io.stdout.write(files.map(([file]) => `wrote ${path.join(label, file)}\n`).join(''))
  io.stdout.write(`
Next:
  llmpool validate ${label}
  llmpool explain ${label} main_pool_wrapper --plan
  llmpool mock-upstream --port ${INIT_MOCK_PORT}  # in another terminal: the fake provider the tree points at
  llmpool serve --config ${label}  # the gateway on http://127.0.0.1:8080 (needs @llmpool/gateway)
  curl http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model": "main_pool_wrapper", "messages": [{"role": "user", "content": "hello"}]}'
`)
  return EXIT_CODES.ok
}

export const initCommand: Command = {
  name: 'init',
  summary: 'write a small, valid, commented configuration to start from',
  usage,
  run,
}
