import type { Clock } from '@llmpool/schema'
import type { LimitSpec } from '../types'
import { MemoryLimiter } from './memory-limiter'

/**
 * Token bucket: holds up to `bucketSize` tokens, refilled at `refillPerSecond`; a request takes `weight` tokens.
 * Tokens are computed from the elapsed time when asked: no timer refills them.
 */
export class TokenBucketLimiter extends MemoryLimiter {
  readonly kind = 'token_bucket' as const
  private tokens: number
  private last: number
  private perMs: number

  constructor(
    name: string,
    private bucketSize: number,
    refillPerSecond: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isInteger(bucketSize) && bucketSize >= 1))
      throw new RangeError(`bucketSize must be an integer ≥ 1 (got ${bucketSize})`)
    if (!(Number.isFinite(refillPerSecond) && refillPerSecond > 0))
      throw new RangeError(`refillPerSecond must be a number > 0 (got ${refillPerSecond})`)
    this.perMs = refillPerSecond / 1000
    this.tokens = bucketSize
    this.last = this.clock.now()
  }

  protected get capacity(): number {
    return this.bucketSize
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.bucketSize, this.tokens + (now - this.last) * this.perMs)
      this.last = now
    }
  }

  protected check(weight: number, now: number): number {
    this.refill(now)
    return this.tokens >= weight ? 0 : (weight - this.tokens) / this.perMs
  }

  protected commit(weight: number): number {
    this.tokens -= weight
    return 0
  }

  protected refund(weight: number, _ticket: number, _held: boolean, now: number): void {
    this.refill(now)
    this.tokens = Math.min(this.bucketSize, this.tokens + weight)
  }

  protected available(now: number): number {
    this.refill(now)
    return Math.floor(this.tokens)
  }

  /** A new size and rate: the tokens held stay (capped at a smaller size); they refill at the new rate from now. */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const spec = this.specFor(limits)
    if (spec?.kind !== 'token_bucket') return false
    this.refill(this.clock.now())
    this.bucketSize = spec.bucketSize
    this.perMs = spec.refillPerSecond / 1000
    this.tokens = Math.min(this.tokens, this.bucketSize)
    this.reconfigured()
    return true
  }

  protected nextRefill(now: number): number | undefined {
    this.refill(now)
    if (this.tokens >= this.bucketSize) return undefined
    const fraction = this.tokens - Math.floor(this.tokens)
    return (1 - fraction) / this.perMs
  }
}
