import type { Clock } from '@llmpool/schema'
import type { LimitSpec } from '../types'
import { MemoryLimiter } from './memory-limiter'

/**
 * Fixed window: at most `maxRequests` per window of `windowMs`, windows aligned on the clock (`floor(now / windowMs)`).
 * Note that two adjacent windows can admit up to 2 × maxRequests within one window's length across their boundary;
 * use the sliding window where that matters (rpm limits do).
 */
export class FixedWindowLimiter extends MemoryLimiter {
  readonly kind = 'fixed_window' as const
  /** When the window the count belongs to ends (ms): the window of a lease, for an exact refund. */
  private end = Number.NEGATIVE_INFINITY
  private count = 0

  constructor(
    name: string,
    private windowMs: number,
    private maxRequests: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isFinite(windowMs) && windowMs > 0))
      throw new RangeError(`windowMs must be a number > 0 (got ${windowMs})`)
    if (!(Number.isInteger(maxRequests) && maxRequests >= 1))
      throw new RangeError(`maxRequests must be an integer ≥ 1 (got ${maxRequests})`)
  }

  protected get capacity(): number {
    return this.maxRequests
  }

  private roll(now: number): void {
    if (now >= this.end) {
      this.end = (Math.floor(now / this.windowMs) + 1) * this.windowMs
      this.count = 0
    }
  }

  protected check(weight: number, now: number): number {
    this.roll(now)
    return this.count + weight <= this.maxRequests ? 0 : this.end - now
  }

  protected commit(weight: number): number {
    this.count += weight
    return this.end
  }

  protected refund(weight: number, end: number, _held: boolean, now: number): void {
    this.roll(now)
    if (end === this.end) this.count = Math.max(0, this.count - weight)
  }

  protected available(now: number): number {
    this.roll(now)
    return Math.max(0, this.maxRequests - this.count)
  }

  protected nextRefill(now: number): number | undefined {
    this.roll(now)
    return this.count === 0 ? undefined : this.end - now
  }

  /**
   * A new maximum applies to the window in progress and its count at once; a new window length from the next
   * window on (the window in progress keeps its end, so its count is neither dropped early nor kept longer).
   */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const spec = this.specFor(limits)
    if (spec?.kind !== 'fixed_window') return false
    this.roll(this.clock.now())
    this.windowMs = spec.windowMs
    this.maxRequests = spec.maxRequests
    this.reconfigured()
    return true
  }
}
