import { LLMPoolError } from '@llmpool/schema'

const abortedMarker = 'llmpool.error.AcquireAbortedError'
const timeoutMarker = 'llmpool.error.AcquireTimeoutError'
const unavailableMarker = 'llmpool.error.LimiterUnavailableError'
const abortedSymbol = Symbol.for(abortedMarker)
const timeoutSymbol = Symbol.for(timeoutMarker)
const unavailableSymbol = Symbol.for(unavailableMarker)

/** `acquire()` gave up because its signal aborted (or the limiter was disposed). */
export class AcquireAbortedError extends LLMPoolError<'acquire_aborted'> {
  private readonly [abortedSymbol] = true
  constructor(
    readonly limiter: string,
    cause?: unknown,
  ) {
    super({ code: 'acquire_aborted', message: `waiting for limiter "${limiter}" was aborted`, cause })
    this.name = 'AcquireAbortedError'
  }
  static override isInstance(error: unknown): error is AcquireAbortedError {
    return LLMPoolError.hasMarker(error, abortedMarker)
  }
}

/** `acquire()` could not get capacity before its deadline. */
export class AcquireTimeoutError extends LLMPoolError<'acquire_timeout'> {
  private readonly [timeoutSymbol] = true
  constructor(
    readonly limiter: string,
    /** When capacity is expected back, from now (ms). */
    readonly retryAfterMs: number,
  ) {
    super({
      code: 'acquire_timeout',
      message: `limiter "${limiter}" has no capacity before the deadline (retry after ${Math.ceil(retryAfterMs)} ms)`,
    })
    this.name = 'AcquireTimeoutError'
  }
  static override isInstance(error: unknown): error is AcquireTimeoutError {
    return LLMPoolError.hasMarker(error, timeoutMarker)
  }
}

/**
 * The Redis backend cannot reach Redis and its policy is fail-closed: nothing was acquired. A server may answer
 * 503 with `retry-after` from `retryAfterMs`.
 */
export class LimiterUnavailableError extends LLMPoolError<'limiter_unavailable'> {
  private readonly [unavailableSymbol] = true
  constructor(
    readonly limiter: string,
    /** When the backend tries Redis again, from now (ms): a suggestion for retrying, from 1 to 1000. */
    readonly retryAfterMs: number,
    cause?: unknown,
  ) {
    super({
      code: 'limiter_unavailable',
      message: `limiter "${limiter}" cannot reach its Redis backend (fail-closed; retry after ${Math.ceil(retryAfterMs)} ms)`,
      cause,
    })
    this.name = 'LimiterUnavailableError'
  }
  static override isInstance(error: unknown): error is LimiterUnavailableError {
    return LLMPoolError.hasMarker(error, unavailableMarker)
  }
}
