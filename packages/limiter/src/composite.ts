import { type Clock, systemClock } from '@llmpool/schema'
import { AcquireAbortedError, AcquireTimeoutError } from './errors'
import { partLimitSpecs } from './limit-spec'
import type { AcquireOptions, Acquisition, Lease, Limiter, LimiterState, LimitSpec } from './types'

class CompositeLease implements Lease {
  readonly granted = true
  constructor(
    readonly weight: number,
    private readonly leases: Lease[],
  ) {}
  release(): void {
    for (const lease of this.leases) lease.release()
  }
  cancel(): void {
    for (let i = this.leases.length - 1; i >= 0; i--) this.leases[i]!.cancel()
  }
}

/** Longest single wait between two tries of a polling `acquire()`. */
const MAX_POLL_MS = 250

/**
 * All-or-nothing over limiters of any backend (the Redis ones answer asynchronously): takes each part in turn and,
 * when one denies, cancels what the others granted. Not atomic across parts — another process may take capacity
 * between two parts — but never keeps a partial acquisition. `acquire()` retries after each denial's `retryAfterMs`.
 */
export class CompositeLimiter implements Limiter {
  readonly kind = 'composite' as const

  constructor(
    readonly name: string,
    private readonly parts: Limiter[],
    private readonly clock: Clock = systemClock,
  ) {
    if (parts.length === 0) throw new RangeError('a composite limiter needs at least one part')
  }

  async tryAcquire(weight = 1): Promise<Acquisition> {
    const taken: Lease[] = []
    for (const part of this.parts) {
      let result: Acquisition
      try {
        result = await part.tryAcquire(weight)
      } catch (error) {
        for (const lease of taken.reverse()) lease.cancel()
        throw error
      }
      if (!result.granted) {
        for (const lease of taken.reverse()) lease.cancel()
        return result
      }
      taken.push(result)
    }
    return new CompositeLease(weight, taken)
  }

  async acquire(weight = 1, options: AcquireOptions = {}): Promise<Lease> {
    const { signal, deadline } = options
    for (;;) {
      if (signal?.aborted) throw new AcquireAbortedError(this.name, signal.reason)
      const result = await this.tryAcquire(weight)
      if (result.granted) {
        if (signal?.aborted) {
          result.cancel()
          throw new AcquireAbortedError(this.name, signal.reason)
        }
        return result
      }
      const now = this.clock.now()
      if (deadline !== undefined && now + result.retryAfterMs > deadline) {
        if (deadline > now) await this.sleep(deadline - now, signal)
        throw new AcquireTimeoutError(this.name, result.retryAfterMs)
      }
      await this.sleep(Math.min(Math.max(result.retryAfterMs, 1), MAX_POLL_MS), signal)
    }
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.clock.clearTimeout(timer)
        reject(new AcquireAbortedError(this.name, signal?.reason))
      }
      const timer = this.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async state(): Promise<LimiterState> {
    const parts = await Promise.all(this.parts.map((part) => part.state()))
    return {
      kind: 'composite',
      limit: Math.min(...parts.map((part) => part.limit)),
      available: Math.min(...parts.map((part) => part.available)),
      inFlight: Math.max(...parts.map((part) => part.inFlight)),
      queued: parts.reduce((sum, part) => sum + part.queued, 0),
      nextRefillMs: parts.some((part) => part.available === 0)
        ? Math.max(...parts.filter((part) => part.available === 0).map((part) => part.nextRefillMs ?? 0))
        : undefined,
      parts,
    }
  }

  /**
   * One spec per part, in the parts' order, all checked first; false when a kind or the number differs, or when a
   * part cannot be reconfigured (then the caller replaces this limiter; parts before it may have their new values).
   * Waiting `acquire()` calls see the new limits at their next try.
   */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    const specs = partLimitSpecs(
      limits,
      this.parts.map((part) => part.kind),
    )
    if (!specs || !this.parts.every((part) => typeof part.reconfigure === 'function')) return false
    return this.parts.every((part, i) => part.reconfigure!(specs[i]!))
  }

  async dispose(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.dispose()))
  }
}
