import type { Clock } from '@llmpool/schema'
import { LimiterUnavailableError } from '../errors'
import { CompositeMemoryLimiter } from '../memory/composite'
import { createMemoryLimiter } from '../memory/index'
import type { MemoryLimiter } from '../memory/memory-limiter'
import { partLimitSpecs, singleLimitSpec } from '../limit-spec'
import type { AcquireOptions, Acquisition, Lease, Limiter, LimiterKind, LimiterState, LimitSpec } from '../types'
import { type RedisConnection, RedisUnreachable } from './connection'
import type { LeaseRenewer } from './lease-renewer'
import type { UnavailablePolicy } from './options'
import { createPart, queueKeysOf, type RedisPart } from './parts'
import type { BatchTarget, OperationBatch } from './operation-batch'
import { RedisLease } from './redis-lease'
import { type QueueAttempt, WaitQueue } from './wait-queue'
import type { Wakeups } from './wakeups'

type Argument = string | number

/** What the limiters of one backend share. */
export interface RedisLimiterContext {
  readonly connection: RedisConnection
  readonly renewer: LeaseRenewer
  readonly wakeups: Wakeups
  readonly batch: OperationBatch
  readonly clock: Clock
  readonly policy: UnavailablePolicy
  /** The backend's key prefix, for the limiter's keys. */
  readonly prefix: string
  /** How long a concurrency permit outlives its process (ms): an argument of the concurrency parts. */
  readonly leaseTtlMs: number
  /** An id unique across processes, for a lease or a place in a queue. */
  leaseId(): string
}

/** The reason codes of a denial in the apply script's reply. */
const REASONS = ['rate', 'concurrency', 'queue'] as const

/** The least retryAfterMs of a denial because others wait: they take what comes back first. */
const MIN_QUEUE_RETRY_MS = 50

/**
 * A limiter kept in Redis: one part (a plain limiter) or several taken all-or-nothing by one script (an atomic
 * composite). Acquisitions, releases and cancels go to Redis in the order they were issued, batched per tick
 * (`OperationBatch`), and are timed by Redis; `release()` and `cancel()` do not wait for the reply. Waiting
 * callers of every process share one queue in Redis (see `WaitQueue`).
 */
export class RedisLimiter implements Limiter, BatchTarget {
  readonly kind: LimiterKind
  readonly keys: string[]
  readonly queueKeys: [string, string]
  /** The parts' kinds and limit values as the scripts take them: the new ones from a reconfiguration on. */
  partArguments: Argument[] = []
  private currentParts: readonly RedisPart[] = []
  private readonly concurrencyKeys: string[]
  private capacity = 0
  private readonly queue: WaitQueue
  private readonly unwatch: (() => void)[]
  /** The part limiters of a composite (empty for a plain limiter). */
  private readonly members: RedisLimiter[]
  /** The atomic composites this limiter is a part of: they take its new limit values too. */
  private readonly composites = new Set<RedisLimiter>()
  private held = 0
  private averageHoldMs = 0
  private memory: MemoryLimiter | undefined

  constructor(
    readonly name: string,
    parts: readonly RedisPart[],
    private readonly context: RedisLimiterContext,
    /** A plain limiter's spec (for its memory fallback), or a composite's part limiters. */
    private source: LimitSpec | RedisLimiter[],
  ) {
    this.members = Array.isArray(source) ? source : []
    this.kind = Array.isArray(source) ? 'composite' : source.kind
    this.keys = parts.map((part) => part.key)
    this.queueKeys = queueKeysOf(context.prefix, name)
    this.concurrencyKeys = parts.filter((part) => part.code === 'c').map((part) => part.key)
    this.use(parts)
    for (const member of this.members) member.composites.add(this)
    const queueKey = this.queueKeys[0]
    this.queue = new WaitQueue(name, context.clock, {
      attemptFrom: (weight, place) => this.attemptFrom(weight, place),
      leave: (place) => context.batch.add(this, { op: 'l', weight: 0, id: '', place }),
      newPlace: () => context.leaseId(),
      onWait: () => {
        for (const key of this.concurrencyKeys) context.wakeups.subscribe(key)
        context.wakeups.subscribe(queueKey)
      },
    })
    this.unwatch = [...this.keys, queueKey].map((key) => context.wakeups.watch(key, () => this.queue.wake()))
  }

  /** The parts, with their current limit values. */
  get parts(): readonly RedisPart[] {
    return this.currentParts
  }

  private use(parts: readonly RedisPart[]): void {
    this.currentParts = parts
    this.partArguments = parts.flatMap((part) => [part.code, part.a, part.b])
    this.capacity = Math.min(...parts.map((part) => part.capacity))
  }

  private checkWeight(weight: number): void {
    if (!(Number.isInteger(weight) && weight >= 1))
      throw new RangeError(`weight must be an integer ≥ 1 (got ${weight})`)
    if (weight > this.capacity)
      throw new RangeError(`weight ${weight} exceeds the capacity ${this.capacity} of limiter "${this.name}"`)
  }

  async tryAcquire(weight = 1): Promise<Acquisition> {
    this.checkWeight(weight)
    if (this.queue.size > 0) return { granted: false, retryAfterMs: this.queue.lastRetryAfterMs, reason: 'queue' }
    return this.attempt(weight)
  }

  acquire(weight = 1, options: AcquireOptions = {}): Promise<Lease> {
    try {
      this.checkWeight(weight)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.queue.acquire(weight, options)
  }

  /**
   * One try without a place in the queue: a round trip to Redis, or the memory fallback while Redis is unreachable
   * (if the policy allows).
   */
  private attempt(weight: number): Promise<Acquisition> {
    const id = this.context.leaseId()
    return this.send('a', weight, id, undefined).then(
      (reply) => (reply[0] === 1 ? this.grant(weight, id, reply.slice(1, 1 + this.parts.length)) : this.denial(reply)),
      (error: unknown) => this.whenUnreachable(error, (memory) => memory.tryAcquire(weight)),
    )
  }

  /** One try of a waiting caller, from this process's place in the limiter's queue (see `WaitQueue`). */
  private attemptFrom(weight: number, place: string): Promise<QueueAttempt> {
    // A waiter heavier than a lowered limit fails here (the queue rejects it) rather than wait forever.
    this.checkWeight(weight)
    const id = this.context.leaseId()
    return this.send('w', weight, id, place).then(
      (reply): QueueAttempt => {
        if (reply[0] === 1)
          return { result: this.grant(weight, id, reply.slice(1, 1 + this.parts.length)), inQueue: false }
        const reclaimInMs = reply[3] ?? -1
        return reclaimInMs > 0
          ? { result: this.denial(reply), inQueue: true, reclaimInMs }
          : { result: this.denial(reply), inQueue: true }
      },
      (error: unknown) => this.whenUnreachable(error, (memory) => ({ result: memory.tryAcquire(weight) })),
    )
  }

  private send(op: 'a' | 'w', weight: number, id: string, place: string | undefined): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      this.context.batch.add(this, {
        op,
        weight,
        id,
        place,
        settle: (reply, error) => (reply ? resolve(reply) : reject(error)),
      })
    })
  }

  /** A denial from the script's reply: `0, wait, reason, reclaim ms`. */
  private denial(reply: number[]): Acquisition {
    const wait = reply[1] ?? 0
    const reason = REASONS[reply[2] ?? 0] ?? 'rate'
    const concurrencyShort = (reply[3] ?? -1) >= 0
    // A concurrency permit comes back when a call ends: the wait is an estimate, and the reason says so.
    if (reason === 'concurrency') return { granted: false, retryAfterMs: Math.max(wait, this.retryEstimate()), reason }
    if (reason === 'queue')
      return {
        granted: false,
        retryAfterMs: Math.max(wait, concurrencyShort ? this.retryEstimate() : 0, MIN_QUEUE_RETRY_MS),
        reason,
      }
    return { granted: false, retryAfterMs: wait, reason }
  }

  /** The average time this process held a lease, as memory's concurrency limiter estimates it. */
  private retryEstimate(): number {
    return this.averageHoldMs > 0 ? Math.ceil(this.averageHoldMs) : 1000
  }

  private grant(weight: number, id: string, tickets: number[]): RedisLease {
    const lease = new RedisLease(this, weight, id, tickets, this.context.clock.now())
    this.held++
    for (const member of this.members) member.held++
    if (this.concurrencyKeys.length > 0) this.context.renewer.add(this.concurrencyKeys, id, weight)
    return lease
  }

  private untrack(lease: RedisLease): void {
    this.held--
    for (const member of this.members) member.held--
    if (this.concurrencyKeys.length === 0) return
    this.context.renewer.remove(this.concurrencyKeys, lease.id)
    const heldMs = Math.max(0, this.context.clock.now() - lease.acquiredAt)
    this.averageHoldMs = this.averageHoldMs === 0 ? heldMs : this.averageHoldMs * 0.8 + heldMs * 0.2
  }

  /** @internal */
  releaseLease(lease: RedisLease): void {
    this.untrack(lease)
    if (this.concurrencyKeys.length > 0) this.context.batch.add(this, { op: 'r', weight: lease.weight, id: lease.id })
  }

  /** @internal */
  cancelLease(lease: RedisLease, held: boolean): void {
    if (held) this.untrack(lease)
    this.context.batch.add(this, { op: 'x', weight: lease.weight, id: lease.id, tickets: lease.tickets })
  }

  /** @internal Capacity of these keys may be back: local waiters (of this and related limiters) try now. */
  onGivenBack(): void {
    for (const key of this.keys) this.context.wakeups.notify(key)
  }

  async state(): Promise<LimiterState> {
    // After this process's operations issued before it.
    this.context.batch.flush()
    let reply: number[]
    try {
      reply = await this.context.connection.run((client) =>
        this.keys.length === 1
          ? client.llmpoolLimiterStateV3(this.keys[0]!, ...this.partArguments)
          : client.llmpoolLimiterStateManyV3(this.keys.length, ...this.keys, ...this.partArguments),
      )
    } catch (error) {
      return this.whenUnreachable(error, (memory) => ({ ...memory.state(), queued: this.queue.size }))
    }
    const parts = this.parts.map((part, i): LimiterState => {
      const owner = this.members[i] ?? this
      const inFlight = reply[3 * i + 2] ?? -1
      const nextRefill = reply[3 * i + 1] ?? -1
      return {
        kind: part.kind,
        limit: part.capacity,
        available: reply[3 * i] ?? 0,
        // Concurrency: permits held across all processes; rate limits: leases this process holds.
        inFlight: inFlight >= 0 ? inFlight : owner.held,
        queued: owner.queue.size,
        nextRefillMs: nextRefill >= 0 ? nextRefill : undefined,
      }
    })
    if (this.members.length === 0) return parts[0]!
    const short = parts.filter((part) => part.available === 0)
    return {
      kind: 'composite',
      limit: Math.min(...parts.map((part) => part.limit)),
      available: Math.min(...parts.map((part) => part.available)),
      inFlight: this.held,
      queued: this.queue.size,
      nextRefillMs: short.length > 0 ? Math.max(...short.map((part) => part.nextRefillMs ?? 0)) : undefined,
      parts,
    }
  }

  /**
   * New limit values (see `Limiter.reconfigure`). The counts stay in Redis; the new values go in the scripts'
   * arguments from the next call on (operations issued before go first, with the old values). Redis is not asked,
   * so this answers at once; a key that must now live longer (a slower refill, a longer sliding window) gets its
   * expiry extended in the background.
   */
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean {
    if (this.members.length > 0) {
      const specs = partLimitSpecs(
        limits,
        this.members.map((member) => member.kind),
      )
      if (!specs) return false
      this.members.forEach((member, i) => member.reconfigure(specs[i]!))
      this.queue.wake()
      return true
    }
    const spec = singleLimitSpec(limits, this.kind)
    if (!spec) return false
    const part = createPart(this.context.prefix, this.name, spec, this.context.leaseTtlMs)
    this.context.batch.flush()
    this.source = spec
    this.use([part])
    this.memory?.reconfigure(spec)
    for (const composite of this.composites) composite.use(composite.members.flatMap((member) => member.parts))
    this.extendExpiry(part)
    this.queue.wake()
    for (const composite of this.composites) composite.queue.wake()
    return true
  }

  /**
   * A missing key is a fresh limit: a full bucket, an empty window. Scripts set a key's expiry from the values of
   * their time; after new values, a bucket or a sliding window may need its key longer than that (the time to refill
   * from empty, the window's length, from now).
   */
  private extendExpiry(part: RedisPart): void {
    const ttlMs =
      part.code === 'b' ? Math.ceil(part.a / part.b) + 1000 : part.code === 's' ? Math.ceil(part.a) + 1000 : 0
    if (ttlMs === 0) return
    // A failure is the connection's to report; without the key's data the limit starts afresh, as after a flush.
    this.context.connection.run((client) => client.pexpire(part.key, ttlMs)).catch(() => {})
  }

  private whenUnreachable<T>(error: unknown, useMemory: (memory: MemoryLimiter) => T): T {
    if (!(error instanceof RedisUnreachable)) throw error
    if (this.context.policy === 'fail-closed')
      throw new LimiterUnavailableError(this.name, error.retryAfterMs, error.cause)
    return useMemory(this.fallback())
  }

  /** @internal The memory limiter of the same spec that stands in while Redis is unreachable. */
  fallback(): MemoryLimiter {
    if (!this.memory) {
      const { clock } = this.context
      const source = this.source
      const memory = Array.isArray(source)
        ? new CompositeMemoryLimiter(
            this.name,
            source.map((member) => member.fallback()),
            clock,
          )
        : createMemoryLimiter(this.name, source, clock)
      memory.onCapacity(() => this.queue.wake())
      this.memory = memory
    }
    return this.memory
  }

  /** Pending waiters reject with `AcquireAbortedError`. Leases still held stay valid until the backend is disposed. */
  dispose(): void {
    for (const member of this.members) member.composites.delete(this)
    this.queue.dispose()
    for (const unwatch of this.unwatch) unwatch()
    this.memory?.dispose()
  }
}
