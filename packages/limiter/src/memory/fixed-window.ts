import type { Clock } from '@llmpool/schema'
import { MemoryLimiter } from './memory-limiter'

/**
 * Fixed window: at most `maxRequests` per window of `windowMs`, windows aligned on the clock (`floor(now / windowMs)`).
 * Note that two adjacent windows can admit up to 2 × maxRequests within one window's length across their boundary;
 * use the sliding window where that matters (rpm limits do).
 */
export class FixedWindowLimiter extends MemoryLimiter {
  readonly kind = 'fixed_window' as const
  private window = Number.NEGATIVE_INFINITY
  private count = 0

  constructor(
    name: string,
    private readonly windowMs: number,
    private readonly maxRequests: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`windowMs must be a number > 0 (got ${windowMs})`)
    if (!(Number.isInteger(maxRequests) && maxRequests >= 1)) throw new RangeError(`maxRequests must be an integer ≥ 1 (got ${maxRequests})`)
  }

  protected get capacity(): number {
    return this.maxRequests
  }

  private roll(now: number): void {
    const window = Math.floor(now / this.windowMs)
    if (window !== this.window) {
      this.window = window
      this.count = 0
    }
  }

  protected check(weight: number, now: number): number {
    this.roll(now)
    return this.count + weight <= this.maxRequests ? 0 : (this.window + 1) * this.windowMs - now
  }

  protected commit(weight: number): number {
    this.count += weight
    return this.window
  }

  protected refund(weight: number, window: number, _held: boolean, now: number): void {
    this.roll(now)
    if (window === this.window) this.count = Math.max(0, this.count - weight)
  }

  protected available(now: number): number {
    this.roll(now)
    return this.maxRequests - this.count
  }

  protected nextRefill(now: number): number | undefined {
    this.roll(now)
    return this.count === 0 ? undefined : (this.window + 1) * this.windowMs - now
  }
}
