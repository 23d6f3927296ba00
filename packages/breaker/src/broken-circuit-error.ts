import { LLMPoolError } from '@llmpool/schema'

const marker = 'llmpool.error.BrokenCircuitError'
const symbol = Symbol.for(marker)

/**
 * Why a breaker refused a call: `'circuit_open'` while it is open, `'circuit_half_open_full'` while it is half-open
 * and every trial slot is taken.
 */
export type BrokenCircuitCode = 'circuit_open' | 'circuit_half_open_full'

/** Thrown by `execute()` when the breaker does not admit the call. The call was not made. */
export class BrokenCircuitError extends LLMPoolError<BrokenCircuitCode> {
  private readonly [symbol] = true
  /**
   * Milliseconds until the breaker may admit a call again: until half-open for `circuit_open`; for
   * `circuit_half_open_full`, until the earliest trial in flight times out (a slot frees or the state changes by then).
   */
  readonly retryAfterMs: number
  /** The breaker's name, if it has one. */
  readonly breakerName: string | undefined

  constructor(options: { code: BrokenCircuitCode; retryAfterMs: number; breakerName?: string | undefined }) {
    const subject = options.breakerName === undefined ? 'Circuit breaker' : `Circuit breaker "${options.breakerName}"`
    const what = options.code === 'circuit_open' ? 'is open' : 'is half-open and all trial slots are taken'
    super({ code: options.code, message: `${subject} ${what}; retry in ${options.retryAfterMs} ms` })
    this.name = 'BrokenCircuitError'
    this.retryAfterMs = options.retryAfterMs
    this.breakerName = options.breakerName
  }

  static override isInstance(error: unknown): error is BrokenCircuitError {
    return LLMPoolError.hasMarker(error, marker)
  }

  toJSON() {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryAfterMs: this.retryAfterMs,
      breakerName: this.breakerName,
    }
  }
}
