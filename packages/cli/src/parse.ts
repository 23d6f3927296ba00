import { parseArgs } from 'node:util'
import { didYouMean } from '@llmpool/config'
import { UsageError } from './usage-error'

/** The options a command takes: flags (`boolean`) and options with a value (`string`). */
export type OptionSpec = Record<string, { type: 'boolean' | 'string' }>

/** What a command line parsed into: each option's value (when given), `help`, and the positionals. */
export interface ParsedCommandArgs<O extends OptionSpec> {
  values: { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & { help?: boolean }
  positionals: string[]
}

/**
 * `parseArgs` in strict mode for one command, with `--help`/`-h` added. Its errors become one-line `UsageError`s
 * that name the command and, for a mistyped flag, the flag meant.
 */
export function parseCommandArgs<const O extends OptionSpec>(
  command: string,
  args: string[],
  options: O,
  maxPositionals: number,
): ParsedCommandArgs<O> {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } }
  let parsed: ParsedCommandArgs<O>
  try {
    parsed = parseArgs({ args, options: withHelp, allowPositionals: true, strict: true }) as ParsedCommandArgs<O>
  } catch (error) {
    throw new UsageError(`llmpool ${command}: ${describeParseError(error, Object.keys(withHelp))}`, {
      help: `llmpool ${command} --help`,
      cause: error,
    })
  }
  if (!parsed.values.help && parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((value) => JSON.stringify(value))
    throw new UsageError(`llmpool ${command}: unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')}`, {
      help: `llmpool ${command} --help`,
    })
  }
  return parsed
}

function describeParseError(error: unknown, known: string[]): string {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const name = option.replace(/^-+/, '').replace(/=.*$/, '')
    return `unknown option ${option}${didYouMean(name, known, 5).replace(/"([^"]+)"/g, '--$1')}`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /argument missing/.test(message) ? `option ${option} needs a value` : `option ${option} takes no value`
  }
  // Any other parseArgs message: keep its first sentence.
  return message.split(/\.\s/)[0] ?? message
}
