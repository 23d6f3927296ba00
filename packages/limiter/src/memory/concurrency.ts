import type { Clock } from '@llmpool/schema'
import type { LimitSpec } from '../types'
import { MemoryLimiter } from './memory-limiter'

/** At most `limit` leases held at once; a lease's permits come back on `release()`. */
export class ConcurrencyLimiter extends MemoryLimiter {
  readonly kind = 'concurrency' as const
  private inUse = 0
  /** Moving average of how long leases are held: the retry estimate of a denial. */
  private averageHoldMs = 0

  constructor(
    name: string,
    private limit: number,
    clock?: Clock,
  ) {
    super(name, clock)
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`limit must be an integer ≥ 1 (got ${limit})`)
  }

  protected get capacity(): number {
    return this.limit
  }

  protected override get reason(): 'concurrency' {
    return 'concurrency'
  }

  protected override retryEstimate(): number {
    return this.averageHoldMs > 0 ? Math.ceil(this.averageHoldMs) : 1000
  }

  protected check(weight: number): number {
    return this.inUse + weight <= this.limit ? 0 : Number.POSITIVE_INFINITY
  }

  protected commit(weight: number, now: number): number {
    this.inUse += weight
    return now
  }

  protected override onRelease(weight: number, acquiredAt: number, now: number): void {
    this.inUse -= weight
    const held = Math.max(0, now - acquiredAt)
    this.averageHoldMs = this.averageHoldMs === 0 ? held : this.averageHoldMs * 0.8 + held * 0.2
  }

  protected refund(weight: number, _ticket: number, held: boolean): void {
    if (held) this.inUse -= weight
  }

  protected available(): number {
    return Math.max(0, this.limit - this.inUse)
  }

  /** A new limit; the permits held stay held (above a lowered limit, nobody gets one until enough are released). */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const spec = this.specFor(limits)
    if (spec?.kind !== 'concurrency') return false
    this.limit = spec.limit
    this.reconfigured()
    return true
  }

  protected nextRefill(): undefined {
    return undefined
  }
}
