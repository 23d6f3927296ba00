import { type Clock, unref } from '@llmpool/schema'
import type { RedisConnection } from './connection'

/**
 * Keeps this process's concurrency leases alive in Redis: one timer per backend, running while any lease is held,
 * every third of the lease ttl, with one script call per concurrency key renewing all the leases held on it. A
 * process that dies stops renewing, so its permits expire within the ttl.
 */
export class LeaseRenewer {
  /** Concurrency key → lease id → weight. */
  private readonly held = new Map<string, Map<string, number>>()
  private timer: unknown
  private stopped = false

  constructor(
    private readonly connection: RedisConnection,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  add(keys: readonly string[], id: string, weight: number): void {
    for (const key of keys) {
      let leases = this.held.get(key)
      if (!leases) this.held.set(key, (leases = new Map()))
      leases.set(id, weight)
    }
    if (this.timer === undefined && !this.stopped) this.schedule()
  }

  remove(keys: readonly string[], id: string): void {
    for (const key of keys) {
      const leases = this.held.get(key)
      if (!leases) continue
      leases.delete(id)
      if (leases.size === 0) this.held.delete(key)
    }
    if (this.held.size === 0) this.cancel()
  }

  private schedule(): void {
    const timer = this.clock.setTimeout(
      () => {
        this.timer = undefined
        this.renew()
        if (this.held.size > 0 && !this.stopped) this.schedule()
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    )
    // A held lease must not keep the process alive.
    unref(timer)
    this.timer = timer
  }

  private renew(): void {
    for (const [key, leases] of this.held) {
      const pairs: (string | number)[] = []
      for (const [id, weight] of leases) pairs.push(id, weight)
      // A failure is the connection's to report; the next round tries again (before the ttl runs out, twice).
      this.connection.run((client) => client.llmpoolLimiterRenewV3(key, this.ttlMs, ...pairs)).catch(() => {})
    }
  }

  private cancel(): void {
    if (this.timer === undefined) return
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  stop(): void {
    this.stopped = true
    this.cancel()
    this.held.clear()
  }
}
