import { type Clock, systemClock } from '@llmpool/schema'
import { AcquireAbortedError, AcquireTimeoutError } from '../errors'
import { singleLimitSpec } from '../limit-spec'
import type { LeaseState } from '../lease-state'
import { createWaiter, type Waiter } from '../waiter'
import type {
  AcquireOptions,
  Acquisition,
  Denial,
  Lease,
  LimiterKind,
  LimiterState,
  LimitSpec,
  SyncLimiter,
} from '../types'

/** A lease of a memory limiter: a plain object, no closures, so acquiring costs one allocation. */
class MemoryLease implements Lease {
  readonly granted = true
  private state: LeaseState = 'held'

  constructor(
    private readonly limiter: MemoryLimiter,
    readonly weight: number,
    /** Token of the acquisition, for limiters whose refund needs to know which one it was. */
    readonly ticket: number,
  ) {}

  release(): void {
    if (this.state !== 'held') return
    this.state = 'released'
    this.limiter.releaseLease(this)
  }

  cancel(): void {
    if (this.state === 'cancelled') return
    const held = this.state === 'held'
    this.state = 'cancelled'
    this.limiter.cancelLease(this, held)
  }
}

/**
 * The shared part of the memory limiters: FIFO waiting, deadlines, abort, leases. Subclasses say how capacity is
 * counted (`check`, `commit`, `refund`), computed from the clock when asked: no timer runs unless someone waits for
 * capacity that comes back with time.
 */
export abstract class MemoryLimiter implements SyncLimiter {
  abstract readonly kind: LimiterKind
  protected readonly clock: Clock
  private readonly waiters: Waiter[] = []
  private waiterHead = 0
  private wakeTimer: unknown
  private wakeAt = Number.POSITIVE_INFINITY
  private held = 0
  private readonly capacityListeners = new Set<() => void>()
  private disposed = false

  constructor(
    readonly name: string,
    clock: Clock | undefined,
  ) {
    this.clock = clock ?? systemClock
  }

  /** The most this limiter ever admits at once; a heavier acquisition can never succeed. */
  protected abstract get capacity(): number

  /** The heaviest acquisition that can ever succeed. */
  get maxWeight(): number {
    return this.capacity
  }
  /** 0 when `weight` fits now, else milliseconds until it may (Infinity: only a release can free it). */
  protected abstract check(weight: number, now: number): number
  /** Takes `weight` (after a successful check); returns a ticket for refunds. */
  protected abstract commit(weight: number, now: number): number
  /** Gives back what a lease took; `held` is false when it was already released. */
  protected abstract refund(weight: number, ticket: number, held: boolean, now: number): void
  /** Gives back what a lease holds while the call runs (concurrency permits). */
  protected onRelease(_weight: number, _ticket: number, _now: number): void {}
  protected abstract available(now: number): number
  protected abstract nextRefill(now: number): number | undefined

  /** New limit values of the same kind, the state kept (see `Limiter.reconfigure`); ends with `reconfigured()`. */
  abstract reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean

  /** For `reconfigure`: the checked spec `limits` holds for this limiter, or undefined when shape or kind differ. */
  protected specFor(limits: LimitSpec | readonly LimitSpec[]): LimitSpec | undefined {
    return singleLimitSpec(limits, this.kind)
  }

  /** After new limit values: waiters try again now (capacity may have grown; the too heavy ones reject). */
  protected reconfigured(): void {
    this.drain()
  }

  protected get reason(): 'rate' | 'concurrency' {
    return 'rate'
  }

  /** Estimate of retry time when only a release frees capacity. */
  protected retryEstimate(): number {
    return 1000
  }

  private checkWeight(weight: number): void {
    if (!(Number.isInteger(weight) && weight >= 1))
      throw new RangeError(`weight must be an integer ≥ 1 (got ${weight})`)
    if (weight > this.capacity)
      throw new RangeError(`weight ${weight} exceeds the capacity ${this.capacity} of limiter "${this.name}"`)
  }

  tryAcquire(weight = 1): Acquisition {
    this.checkWeight(weight)
    const now = this.clock.now()
    if (this.waiterHead < this.waiters.length) return this.deny(this.check(weight, now), 'queue')
    const wait = this.check(weight, now)
    if (wait > 0) return this.deny(wait, this.reason)
    return this.grant(weight, now)
  }

  /** For composites: checks without taking. */
  probe(weight: number, now: number): number {
    if (this.waiterHead < this.waiters.length) return Math.max(1, this.check(weight, now))
    return this.check(weight, now)
  }

  /** For composites: takes after a successful probe. */
  take(weight: number, now: number): MemoryLease {
    return this.grant(weight, now)
  }

  private deny(wait: number, reason: Denial['reason']): Denial {
    return { granted: false, retryAfterMs: Number.isFinite(wait) ? Math.max(wait, 0) : this.retryEstimate(), reason }
  }

  private grant(weight: number, now: number): MemoryLease {
    const ticket = this.commit(weight, now)
    this.held++
    return new MemoryLease(this, weight, ticket)
  }

  /** @internal */
  releaseLease(lease: MemoryLease): void {
    this.held--
    this.onRelease(lease.weight, lease.ticket, this.clock.now())
    this.drain()
  }

  /** @internal */
  cancelLease(lease: MemoryLease, held: boolean): void {
    if (held) this.held--
    this.refund(lease.weight, lease.ticket, held, this.clock.now())
    this.drain()
  }

  acquire(weight = 1, options: AcquireOptions = {}): Promise<Lease> {
    try {
      this.checkWeight(weight)
    } catch (error) {
      return Promise.reject(error)
    }
    const { signal, deadline } = options
    if (this.disposed) return Promise.reject(new AcquireAbortedError(this.name, new Error('limiter disposed')))
    if (signal?.aborted) return Promise.reject(new AcquireAbortedError(this.name, signal.reason))
    const now = this.clock.now()
    if (this.waiterHead === this.waiters.length) {
      const wait = this.check(weight, now)
      if (wait === 0) return Promise.resolve(this.grant(weight, now))
      if (deadline !== undefined && Number.isFinite(wait) && now + wait > deadline)
        return Promise.reject(new AcquireTimeoutError(this.name, wait))
    }
    if (deadline !== undefined && now >= deadline)
      return Promise.reject(new AcquireTimeoutError(this.name, this.retryEstimate()))
    const { waiter, promise } = createWaiter(
      {
        limiter: this.name,
        clock: this.clock,
        weight,
        signal,
        deadline,
        remove: (gaveUp) => this.remove(gaveUp),
        retryAfterMs: () => {
          const wait = this.check(weight, this.clock.now())
          return Number.isFinite(wait) ? wait : this.retryEstimate()
        },
      },
      {},
    )
    this.waiters.push(waiter)
    this.drain()
    return promise
  }

  /** Removes a waiter that gave up; the next one may fit now. */
  private remove(waiter: Waiter): void {
    waiter.cleanup()
    const index = this.waiters.indexOf(waiter, this.waiterHead)
    if (index === -1) return
    this.waiters.splice(index, 1)
    this.drain()
  }

  /** For composites: called whenever capacity may have come back (a release, a cancel, a waiter leaving). */
  onCapacity(listener: () => void): () => void {
    this.capacityListeners.add(listener)
    return () => this.capacityListeners.delete(listener)
  }

  /** Serves waiters in order while the head fits; schedules one wake-up for when the head may fit. */
  protected drain(): void {
    if (this.capacityListeners.size > 0) for (const listener of this.capacityListeners) listener()
    if (this.waiterHead === this.waiters.length && this.wakeTimer === undefined) return
    const now = this.clock.now()
    while (this.waiterHead < this.waiters.length) {
      const head = this.waiters[this.waiterHead]!
      if (head.weight > this.capacity) {
        // The limit was lowered below its weight: it could wait forever.
        this.waiters[this.waiterHead++] = undefined as unknown as Waiter
        head.cleanup()
        head.reject(
          new RangeError(`weight ${head.weight} exceeds the capacity ${this.capacity} of limiter "${this.name}"`),
        )
        continue
      }
      const wait = this.check(head.weight, now)
      if (wait > 0) {
        this.scheduleWake(wait, now)
        return
      }
      this.waiters[this.waiterHead++] = undefined as unknown as Waiter
      head.cleanup()
      head.resolve(this.grant(head.weight, now))
    }
    // Compact the queue once drained.
    this.waiters.length = 0
    this.waiterHead = 0
    this.cancelWake()
  }

  private scheduleWake(wait: number, now: number): void {
    if (!Number.isFinite(wait)) return this.cancelWake()
    const at = now + wait
    if (this.wakeTimer !== undefined && this.wakeAt <= at) return
    this.cancelWake()
    this.wakeAt = at
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined
        this.wakeAt = Number.POSITIVE_INFINITY
        this.drain()
      },
      Math.max(1, Math.ceil(wait)),
    )
  }

  private cancelWake(): void {
    if (this.wakeTimer === undefined) return
    this.clock.clearTimeout(this.wakeTimer)
    this.wakeTimer = undefined
    this.wakeAt = Number.POSITIVE_INFINITY
  }

  state(): LimiterState {
    const now = this.clock.now()
    return {
      kind: this.kind,
      limit: this.capacity,
      available: this.available(now),
      inFlight: this.held,
      queued: this.waiters.length - this.waiterHead,
      nextRefillMs: this.nextRefill(now),
    }
  }

  dispose(): void {
    this.disposed = true
    this.cancelWake()
    const pending = this.waiters.slice(this.waiterHead)
    this.waiters.length = 0
    this.waiterHead = 0
    for (const waiter of pending) {
      waiter.cleanup()
      waiter.reject(new AcquireAbortedError(this.name, new Error('limiter disposed')))
    }
  }
}
