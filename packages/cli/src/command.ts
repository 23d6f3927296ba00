import type { CliIo } from './cli-io'
import type { ExitCode } from './exit-codes'

/** One `llmpool` subcommand. */
export interface Command {
  /** What is typed after `llmpool`. */
  name: string
  /** One line for the command list of `llmpool --help`. */
  summary: string
  /** Full help text of `llmpool NAME --help`. */
  usage: string
  /** Runs the command with the arguments after its name; throws `UsageError` for a mistake in them. */
  run(args: string[], io: CliIo): Promise<ExitCode>
}
