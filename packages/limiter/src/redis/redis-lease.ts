import type { LeaseState } from '../lease-state'
import type { Lease } from '../types'

/** What a lease calls back into: the limiter that granted it. */
export interface LeaseOwner {
  releaseLease(lease: RedisLease): void
  cancelLease(lease: RedisLease, held: boolean): void
}

/**
 * A lease of a Redis limiter. `release()` and `cancel()` return at once; the script that gives the capacity back
 * runs in the background (on the same connection, so this process's next call sees it).
 */
export class RedisLease implements Lease {
  readonly granted = true
  private state: LeaseState = 'held'

  constructor(
    private readonly owner: LeaseOwner,
    readonly weight: number,
    /** Unique across processes: the members of the lease in sorted sets are `<id>#1` … `<id>#<weight>`. */
    readonly id: string,
    /** Per part, what an exact refund needs (a fixed window's window number). */
    readonly tickets: readonly number[],
    /** When it was granted (backend clock), for the hold-time estimate of concurrency denials. */
    readonly acquiredAt: number,
  ) {}

  release(): void {
    if (this.state !== 'held') return
    this.state = 'released'
    this.owner.releaseLease(this)
  }

  cancel(): void {
    if (this.state === 'cancelled') return
    const held = this.state === 'held'
    this.state = 'cancelled'
    this.owner.cancelLease(this, held)
  }
}
