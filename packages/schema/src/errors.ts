const baseMarker = 'llmpool.error'
const baseSymbol = Symbol.for(baseMarker)

export interface LLMPoolErrorOptions<Code extends string> {
  /** Stable, machine-readable reason. */
  code: Code
  /** What went wrong, for a person. Never contains a secret. */
  message: string
  /** The underlying error, if any. */
  cause?: unknown
}

/**
 * Base class of every error thrown by llmpool packages.
 *
 * Use the static `isInstance()` guards rather than `instanceof`: they keep working when two copies of a package
 * are installed, because they test a `Symbol.for` marker rather than a class identity.
 */
export class LLMPoolError<Code extends string = string> extends Error {
  private readonly [baseSymbol] = true
  /** Stable, machine-readable reason. */
  readonly code: Code

  constructor({ code, message, cause }: LLMPoolErrorOptions<Code>) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'LLMPoolError'
    this.code = code
  }

  /** True for an error thrown by any llmpool package (any copy of it). */
  static isInstance(error: unknown): error is LLMPoolError {
    return LLMPoolError.hasMarker(error, baseMarker)
  }

  /** For subclasses: true when `error` carries the `Symbol.for(marker)` property. */
  protected static hasMarker(error: unknown, marker: string): boolean {
    const symbol = Symbol.for(marker)
    return (
      typeof error === 'object' &&
      error !== null &&
      symbol in error &&
      (error as Record<symbol, unknown>)[symbol] === true
    )
  }
}
