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
  private state: 0 | 1 | 2 = 0 // held, released, cancelled

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
    if (this.state !== 0) return
    this.state = 1
    this.owner.releaseLease(this)
  }

  cancel(): void {
    if (this.state === 2) return
    const held = this.state === 0
    this.state = 2
    this.owner.cancelLease(this, held)
  }
}
