import type { CliIo } from '../cli-io'
import { checkDirectory, DEFAULT_DIRECTORY } from '../check-directory'
import type { Command } from '../command'
import { EXIT_CODES } from '../exit-codes'
import { invalidSummary, json, problemJson, problemLines, validSummary } from '../format'
import { parseCommandArgs } from '../parse'
import { UsageError } from '../usage-error'

const usage = `Usage: llmpool validate [DIR] [--json] [--env NAME] [--lenient | --strict]

Checks every file of the configuration in DIR (default ${DEFAULT_DIRECTORY}) and prints each problem
as "file:line:column  key.path  message", errors first, then warnings, then a summary.

Options:
  --json         print one JSON object {"ok", "errors", "warnings"} and nothing else
  --env NAME     apply the NAME overlay (x.NAME.toml over x.toml); default: $LLMPOOL_ENV
  --lenient      unknown keys are warnings, whatever _registry.toml says
  --strict       unknown keys are errors, whatever _registry.toml says
  -h, --help     show this help

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error.
`

async function run(args: string[], io: CliIo) {
  const { values, positionals } = parseCommandArgs(
    'validate',
    args,
    { json: { type: 'boolean' }, env: { type: 'string' }, lenient: { type: 'boolean' }, strict: { type: 'boolean' } },
    1,
  )
  if (values.help) {
    io.stdout.write(usage)
    return EXIT_CODES.ok
  }
  if (values.lenient && values.strict)
    throw new UsageError('llmpool validate: give --lenient or --strict, not both', { help: 'llmpool validate --help' })
  const validation = values.lenient ? 'lenient' : values.strict ? 'strict' : undefined

  const check = checkDirectory(io, { directory: positionals[0], environment: values.env, validation })
  const ok = check.errors.length === 0 && check.config !== undefined
  if (values.json) {
    io.stdout.write(json({ ok, errors: check.errors.map(problemJson), warnings: check.warnings.map(problemJson) }))
  } else {
    io.stdout.write(problemLines(check.errors, check.warnings, check.label))
    io.stdout.write(
      ok && check.config
        ? validSummary(check.config, check.warnings.length, check.label)
        : invalidSummary(check.errors.length, check.warnings.length, check.label),
    )
  }
  return ok ? EXIT_CODES.ok : EXIT_CODES.invalid
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a configuration directory and list every problem',
  usage,
  run,
}
