import type { Clock } from '@llmpool/schema'
import { MAX_SLIDING_WINDOW_LIMIT } from '../limit-spec'
import type { LimitSpec } from '../types'
import { MemoryLimiter } from './memory-limiter'

/**
 * Sliding window log: no span of `windowMs` ever admits more than `limit`. It keeps the times of the last `limit`
 * admissions in a ring; a request of weight w fits when the w-th oldest of them has left the window. O(weight) per
 * acquisition, no timers. This is the algorithm of the echelons' `rpm_limit` (windowMs = 60 000): a fixed window
 * would admit up to twice the limit across a window boundary.
 *
 * After `reconfigure` lowers the limit, the ring keeps every admission still in the window, which may be more than the
 * new limit (a limit raised again later must count them all).
 */
export class SlidingWindowLimiter extends MemoryLimiter {
  readonly kind = 'sliding_window' as const
  /** The times of the latest admissions, oldest at `head`; at least `limit` of them (-Infinity: none yet). */
  private ring: Float64Array
  private head = 0
  private sequence = 0
  /** The most recent commit (its sequence, start and the times it overwrote), so that it alone can be refunded exactly. */
  private lastSequence = 0
  private lastHead = 0
  private overwritten = new Float64Array(1)
  /**
   * The ring holds its times oldest first from `head`, as they were taken from a clock that only goes forward: the
   * admissions still in the window are found by bisection (a state snapshot of an rpm_limit of 1 000 000 walked a
   * million entries). False for good once the clock went back (a wall clock stepped back): counted one by one then.
   */
  private ordered = true

  constructor(
    name: string,
    private windowMs: number,
    private limit: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isFinite(windowMs) && windowMs > 0))
      throw new RangeError(`windowMs must be a number > 0 (got ${windowMs})`)
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_SLIDING_WINDOW_LIMIT))
      throw new RangeError(`limit must be an integer from 1 to ${MAX_SLIDING_WINDOW_LIMIT} (got ${limit})`)
    this.ring = new Float64Array(limit).fill(Number.NEGATIVE_INFINITY)
  }

  protected get capacity(): number {
    return this.limit
  }

  protected check(weight: number, now: number): number {
    if (weight > this.limit) return Number.POSITIVE_INFINITY
    // The w-th oldest of the last `limit` admissions: the (limit - w + 1)-th newest.
    const size = this.ring.length
    const oldest = this.ring[(this.head - (this.limit - weight + 1) + size) % size]!
    const leaves = oldest + this.windowMs
    return leaves <= now ? 0 : leaves - now
  }

  protected commit(weight: number, now: number): number {
    if (this.overwritten.length < weight) this.overwritten = new Float64Array(weight)
    const size = this.ring.length
    const start = this.head
    if (now < this.ring[(start + size - 1) % size]!) this.ordered = false
    for (let i = 0; i < weight; i++) {
      const index = (start + i) % size
      this.overwritten[i] = this.ring[index]!
      this.ring[index] = now
    }
    this.head = (start + weight) % size
    this.lastHead = start
    this.lastSequence = ++this.sequence
    return this.sequence
  }

  protected refund(weight: number, sequence: number): void {
    if (sequence !== this.lastSequence) return // not the latest: cannot be undone exactly
    for (let i = 0; i < weight; i++) this.ring[(this.lastHead + i) % this.ring.length] = this.overwritten[i]!
    this.head = this.lastHead
    this.lastSequence = 0
  }

  private inWindow(now: number): number {
    if (this.ordered) return this.ring.length - this.leftWindow(now)
    let count = 0
    for (let i = 0; i < this.ring.length; i++) if (this.ring[i]! + this.windowMs > now) count++
    return count
  }

  /**
   * How many of the ring's times, oldest first from `head`, come before the first still in the window (the ring's
   * length when none is): by bisection while the ring is ordered, else one by one.
   */
  private leftWindow(now: number): number {
    const { ring, head, windowMs } = this
    const size = ring.length
    if (!this.ordered) {
      let index = 0
      while (index < size && ring[(head + index) % size]! + windowMs <= now) index++
      return index
    }
    let low = 0
    let high = size
    while (low < high) {
      const middle = (low + high) >>> 1
      if (ring[(head + middle) % size]! + windowMs > now) high = middle
      else low = middle + 1
    }
    return low
  }

  protected available(now: number): number {
    return Math.max(0, this.limit - this.inWindow(now))
  }

  protected nextRefill(now: number): number | undefined {
    // More in the window than the limit (after a lowered limit): capacity comes back when the limit-th newest leaves.
    const wait = this.check(1, now)
    if (wait > 0) return wait
    const first = this.leftWindow(now)
    return first < this.ring.length
      ? this.ring[(this.head + first) % this.ring.length]! + this.windowMs - now
      : undefined
  }

  /**
   * A new window length applies to the admissions kept (each leaves `windowMs` after it was made); a new limit counts
   * every admission still in the window (with 5 in the window and a new limit of 3, the next request waits until 3 of
   * them have left). A longer window does not bring back admissions that had already left the ring. After a new
   * limit, the latest acquisition can no longer be refunded.
   */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const spec = this.specFor(limits)
    if (spec?.kind !== 'sliding_window') return false
    this.windowMs = spec.windowMs
    this.limit = spec.limit
    const size = Math.max(spec.limit, this.inWindow(this.clock.now()))
    if (size !== this.ring.length) {
      const ring = new Float64Array(size).fill(Number.NEGATIVE_INFINITY)
      const kept = Math.min(this.ring.length, size)
      // Oldest first from the head: the latest `kept` go to the end of the new ring, whose head is 0.
      const from = this.head + this.ring.length - kept
      for (let i = 0; i < kept; i++) ring[size - kept + i] = this.ring[(from + i) % this.ring.length]!
      this.ring = ring
      this.head = 0
      this.lastSequence = 0
    }
    this.reconfigured()
    return true
  }
}
