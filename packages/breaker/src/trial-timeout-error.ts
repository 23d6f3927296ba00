import { LLMPoolError } from '@llmpool/schema'

const marker = 'llmpool.error.TrialTimeoutError'
const symbol = Symbol.for(marker)

/**
 * A half-open trial did not settle within `trialTimeoutMs`. The trial counted as a failure (the breaker opened
 * again), its signal was aborted with this error, and `execute()` rejected with it. `classifyFailure` calls it a
 * `'timeout'`.
 */
export class TrialTimeoutError extends LLMPoolError<'trial_timeout'> {
  private readonly [symbol] = true
  /** The timeout that elapsed. */
  readonly timeoutMs: number
  /** The breaker's name, if it has one. */
  readonly breakerName: string | undefined

  constructor(options: { timeoutMs: number; breakerName?: string | undefined }) {
    const subject = options.breakerName === undefined ? 'circuit breaker' : `circuit breaker "${options.breakerName}"`
    super({ code: 'trial_timeout', message: `Trial call of ${subject} did not settle within ${options.timeoutMs} ms` })
    this.name = 'TrialTimeoutError'
    this.timeoutMs = options.timeoutMs
    this.breakerName = options.breakerName
  }

  static override isInstance(error: unknown): error is TrialTimeoutError {
    return LLMPoolError.hasMarker(error, marker)
  }

  toJSON() {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      timeoutMs: this.timeoutMs,
      breakerName: this.breakerName,
    }
  }
}
