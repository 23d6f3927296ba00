import { LLMPoolError } from '@llmpool/schema'

const marker = 'llmpool.error.UsageError'
const symbol = Symbol.for(marker)

/**
 * A mistake in how the CLI was called, or a directory it cannot use: printed as one line, exit code 2, no stack
 * trace. `help` names the help to point to (`llmpool validate --help`), for mistakes in the command line itself.
 */
export class UsageError extends LLMPoolError<'cli_usage'> {
  private readonly [symbol] = true
  readonly help: string | undefined

  constructor(message: string, options: { help?: string; cause?: unknown } = {}) {
    super({ code: 'cli_usage', message, cause: options.cause })
    this.name = 'UsageError'
    this.help = options.help
  }

  static override isInstance(error: unknown): error is UsageError {
    return LLMPoolError.hasMarker(error, marker)
  }
}
