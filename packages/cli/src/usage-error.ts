import { LLMPoolError } from '@llmpool/schema'

/**
 * A mistake in how the CLI was called, or a directory it cannot use: printed as one line, exit code 2, no stack
 * trace. `help` names the help to point to (`llmpool validate --help`), for mistakes in the command line itself.
 */
export class UsageError extends LLMPoolError<'cli_usage'> {
  readonly help: string | undefined

  constructor(message: string, options: { help?: string; cause?: unknown } = {}) {
    super({ code: 'cli_usage', message, cause: options.cause })
    this.name = 'UsageError'
    this.help = options.help
  }
}
