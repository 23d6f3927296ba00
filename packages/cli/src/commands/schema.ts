import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { FILE_KINDS, jsonSchemaFileNames, toJsonSchema } from '@llmpool/schema'
import type { CliIo } from '../cli-io'
import type { Command } from '../command'
import { EXIT_CODES } from '../exit-codes'
import { json } from '../format'
import { parseCommandArgs } from '../parse'
import { UsageError } from '../usage-error'

const usage = `Usage: llmpool schema --out DIR

Writes one JSON Schema (draft 2020-12) per kind of configuration file into DIR, creating it:
${FILE_KINDS.map((kind) => `  ${jsonSchemaFileNames[kind]}`).join('\n')}

Point an editor at them, e.g. with taplo: "#:schema ../.schemas/pool.schema.json" on the first
line of a pool file (with the schemas in configs/llms/.schemas).

Options:
  --out DIR      directory to write the schemas into (required)
  -h, --help     show this help
`

async function run(args: string[], io: CliIo) {
  const { values } = parseCommandArgs('schema', args, { out: { type: 'string' } }, 0)
  if (values.help) {
    io.stdout.write(usage)
    return EXIT_CODES.ok
  }
  if (values.out === undefined || values.out === '') {
    throw new UsageError('llmpool schema: --out DIR is required', { help: 'llmpool schema --help' })
  }
  const directory = path.resolve(io.cwd, values.out)
  const written: string[] = []
  try {
    mkdirSync(directory, { recursive: true })
    for (const kind of FILE_KINDS) {
      const name = jsonSchemaFileNames[kind]
      writeFileSync(path.join(directory, name), json(toJsonSchema(kind)))
      written.push(path.join(values.out, name))
    }
  } catch (error) {
    const reason = (error as { code?: unknown }).code ?? (error instanceof Error ? error.message : String(error))
    throw new UsageError(`llmpool schema: cannot write to ${values.out} (${String(reason)})`, { cause: error })
  }
  io.stdout.write(written.map((file) => `wrote ${file}\n`).join(''))
  return EXIT_CODES.ok
}

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'write JSON Schemas of the configuration files, for editors',
  usage,
  run,
}
