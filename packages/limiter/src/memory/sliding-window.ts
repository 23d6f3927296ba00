import type { Clock } from '@llmpool/schema'
import { MemoryLimiter } from './memory-limiter'

/** Largest `limit` a sliding window accepts: it keeps one timestamp per admission (8 bytes each). */
export const MAX_SLIDING_WINDOW_LIMIT = 1_000_000

/**
 * Sliding window log: no span of `windowMs` ever admits more than `limit`. It keeps the times of the last `limit`
 * admissions in a ring; a request of weight w fits when the w-th oldest of them has left the window. O(weight) per
 * acquisition, no timers. This is the algorithm of the echelons' `rpm_limit` (windowMs = 60 000): a fixed window
 * would admit up to twice the limit across a window boundary.
 */
export class SlidingWindowLimiter extends MemoryLimiter {
  readonly kind = 'sliding_window' as const
  private readonly ring: Float64Array
  private head = 0
  private sequence = 0
  /** The most recent commit (its sequence, start and the times it overwrote), so that it alone can be refunded exactly. */
  private lastSequence = 0
  private lastHead = 0
  private overwritten = new Float64Array(1)

  constructor(
    name: string,
    private readonly windowMs: number,
    private readonly limit: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`windowMs must be a number > 0 (got ${windowMs})`)
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_SLIDING_WINDOW_LIMIT))
      throw new RangeError(`limit must be an integer from 1 to ${MAX_SLIDING_WINDOW_LIMIT} (got ${limit})`)
    this.ring = new Float64Array(limit).fill(Number.NEGATIVE_INFINITY)
  }

  protected get capacity(): number {
    return this.limit
  }

  protected check(weight: number, now: number): number {
    const oldest = this.ring[(this.head + weight - 1) % this.limit]!
    const leaves = oldest + this.windowMs
    return leaves <= now ? 0 : leaves - now
  }

  protected commit(weight: number, now: number): number {
    if (this.overwritten.length < weight) this.overwritten = new Float64Array(weight)
    const start = this.head
    for (let i = 0; i < weight; i++) {
      const index = (start + i) % this.limit
      this.overwritten[i] = this.ring[index]!
      this.ring[index] = now
    }
    this.head = (start + weight) % this.limit
    this.lastHead = start
    this.lastSequence = ++this.sequence
    return this.sequence
  }

  protected refund(weight: number, sequence: number): void {
    if (sequence !== this.lastSequence) return // not the latest: cannot be undone exactly
    for (let i = 0; i < weight; i++) this.ring[(this.lastHead + i) % this.limit] = this.overwritten[i]!
    this.head = this.lastHead
    this.lastSequence = 0
  }

  private inWindow(now: number): number {
    let count = 0
    for (let i = 0; i < this.limit; i++) if (this.ring[i]! + this.windowMs > now) count++
    return count
  }

  protected available(now: number): number {
    return this.limit - this.inWindow(now)
  }

  protected nextRefill(now: number): number | undefined {
    for (let i = 0; i < this.limit; i++) {
      const leaves = this.ring[(this.head + i) % this.limit]! + this.windowMs
      if (leaves > now) return leaves - now
    }
    return undefined
  }
}
