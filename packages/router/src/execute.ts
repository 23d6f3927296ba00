import type { LanguageModelV3, LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { type BreakerPermit, classifyFailure, defaultIsFailure, type FailureKind } from '@llmpool/breaker'
import type { Lease } from '@llmpool/limiter'
import type { Clock } from '@llmpool/schema'
import type { CapacityWaiters } from './capacity-waiters'
import {
  AllAttemptsFailedError,
  type AttemptRecord,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
} from './errors'
import type { RouterEvent } from './events'
import type { InstanceRuntime } from './instance'
import { backoffDelay, type RetryPolicy, retryAfterMs } from './retry'
import { scrubMessage } from './scrub'
import { ATTEMPT, AttemptSignal } from './attempt-signal'
import { sleep } from './signals'
import type { InstanceView, RotationContext } from './strategies/index'
import type { PoolRuntime, Topology } from './topology'

/** What the executor needs from the router. */
export interface ExecutionContext {
  clock: Clock
  random(): number
  emit(event: RouterEvent): void
  waiters: CapacityWaiters
  retry: RetryPolicy
  /** Failure kinds retried on the same instance. */
  retryOn: ReadonlySet<FailureKind>
  /** Most upstream calls one request may make, across retries, instances, echelons and pools. */
  attemptBudget: number
  /** A lease came back: waiting requests may proceed. */
  released(instance: InstanceRuntime): void
}

/** One request, as it goes through the executor. */
export interface RequestState {
  id: number
  target: string
  call: LanguageModelV3CallOptions
  /** The caller's signal, if any. The deadline is enforced by the attempts' own timers and by bounded waits. */
  signal: AbortSignal | undefined
  /** Clock time by which the request must be over. */
  deadline: number
  timeoutMs: number
  attempts: AttemptRecord[]
  budget: number
  ticket: number | undefined
}

/** What one attempt produced. `done` (streams) settles when the call is over: the lease is held until then. */
export interface AttemptResult<T> {
  value: T
  /** Streams: settles with the error that ended the call, or undefined; the lease is held until then. */
  done?: Promise<unknown>
  /** Streams: time to the first content part. */
  timeToFirstTokenMs?: number
}

/** What a running attempt may do besides calling the model. */
export interface AttemptControls {
  /** When the attempt started (clock ms). */
  started: number
  /** The attempt's abort signal (the same the model gets as `abortSignal`). */
  signal: AttemptSignal
  /** Streams: the first content arrived; the echelon's timeout, which bounds time to first token, no longer applies. */
  disarmTimeout(): void
}

/** AttemptControls as a class: one object per attempt, no closures. */
class Controls implements AttemptControls {
  constructor(
    readonly started: number,
    readonly signal: AttemptSignal,
    private readonly request: RequestState,
  ) {}

  disarmTimeout(): void {
    const { request } = this
    this.signal.disarm(request.deadline, `request for "${request.target}" timed out after ${request.timeoutMs} ms`)
  }
}

export type RunAttempt<T> = (
  instance: InstanceRuntime,
  model: LanguageModelV3,
  call: LanguageModelV3CallOptions,
  controls: AttemptControls,
) => Promise<AttemptResult<T>>

export interface Success<T> {
  value: T
  instance: InstanceRuntime
}

interface Selection {
  instance: InstanceRuntime
  lease: Lease | undefined
  permit: BreakerPermit
  listIndex: number
}

type Outcome<T> = { ok: true; success: Success<T> } | { ok: false; kind: FailureKind; error: unknown }

/** Failures that say nothing about the instance: trying another would fail the same way. */
const REJECTIONS: ReadonlySet<FailureKind> = new Set(['bad_request', 'content_policy'])

const NO_MORE = Symbol('no more candidates')

/** The `abortSignal` of every call the router makes: one getter shared by all calls, reading the attempt each carries. */
const ABORT_SIGNAL_PROPERTY: PropertyDescriptor = {
  get(this: { [ATTEMPT]: AttemptSignal }) {
    return this[ATTEMPT].signal
  },
  enumerable: true,
  configurable: true,
}

/** Whether `list` has an admitted instance not tried yet. */
function hasCandidate(list: readonly InstanceRuntime[], tried: readonly string[]): boolean {
  for (const instance of list) if (instance.admitted && !tried.includes(instance.key)) return true
  return false
}

/** A pool, then (under `pool_fallback`) its fallback pools in order; each pool once, so fallbacks never loop. */
function fallbackChain(topology: Topology, pool: PoolRuntime): PoolRuntime[] {
  const chain: PoolRuntime[] = [pool]
  if (pool.config.fallback.strategy === 'pool_fallback') {
    for (const name of pool.config.fallback.fallback_pools) {
      const fallback = topology.pools.get(name)
      if (fallback && !chain.includes(fallback)) chain.push(fallback)
    }
  }
  return chain
}

/** The memory backend answers synchronously: only a promise is awaited, so the hot path takes no extra microtask. */
function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function'
}

export class Executor {
  constructor(private readonly context: ExecutionContext) {}

  /** A request to a pool: its rotation and fallback, then (under `pool_fallback`) its fallback pools in order. */
  async pool<T>(request: RequestState, topology: Topology, pool: PoolRuntime, run: RunAttempt<T>): Promise<Success<T>> {
    if (request.signal?.aborted) throw request.signal.reason // cancelled before it started: no upstream call
    const chain = (pool.chain ??= fallbackChain(topology, pool))
    let lastError: unknown
    for (let index = 0; index < chain.length; index++) {
      const current = chain[index]!
      if (index > 0) {
        const last = request.attempts[request.attempts.length - 1]
        this.context.emit({ type: 'fallback', at: this.context.clock.now(), requestId: request.id, target: request.target, from: last?.instance ?? chain[index - 1]!.name, kind: last?.error?.kind ?? 'unknown', toPool: current.name })
      }
      if (current.limiter) {
        const admitted = this.admitToPool(request, current, index === 0)
        if (!(isPromise(admitted) ? await admitted : admitted)) continue
      }
      const outcome = await this.walk(request, current.tiers, current.config.fallback.max_instance_attempts, current.name, (current.order ??= this.poolOrder(current)), run)
      if (outcome.ok) return outcome.success
      lastError = outcome.error
      if (request.budget <= 0) break
    }
    throw this.failure(request, lastError)
  }

  /** How a pool orders a tier for a request: its rotation strategy (made once per pool runtime). */
  private poolOrder(pool: PoolRuntime): (listIndex: number, candidates: InstanceRuntime[]) => InstanceRuntime[] {
    const context: RotationContext = { weightOf: (instance) => pool.weights.get(instance.key) ?? 0, random: this.context.random }
    return (_list, candidates) => pool.strategy.order(candidates, context) as readonly InstanceView[] as InstanceRuntime[]
  }

  /** A request to a task group: its echelons in chain order, round robin within each, bounded by `max_attempts`. */
  async group<T>(request: RequestState, topology: Topology, name: string, run: RunAttempt<T>): Promise<Success<T>> {
    if (request.signal?.aborted) throw request.signal.reason // cancelled before it started: no upstream call
    const group = topology.groups.get(name)!
    const lists = group.steps.map((step) => step.instances)
    const outcome = await this.walk(
      request,
      lists,
      group.config.fallback.max_attempts,
      undefined,
      (listIndex, candidates) => {
        const label = group.steps[listIndex]!.label
        const cursor = group.cursors.get(label) ?? 0
        group.cursors.set(label, cursor + 1)
        const start = candidates.length > 0 ? cursor % candidates.length : 0
        return [...candidates.slice(start), ...candidates.slice(0, start)]
      },
      run,
      group.config.fallback.retry_delay * 1000,
    )
    if (outcome.ok) return outcome.success
    throw this.failure(request, outcome.error)
  }

  /** Pool admission: the pool's own rate limit. The first pool waits (FIFO) within the deadline; fallback pools do not. */
  private admitToPool(request: RequestState, pool: PoolRuntime, wait: boolean): boolean | Promise<boolean> {
    const result = pool.limiter!.tryAcquire()
    if (isPromise(result)) return result.then((settled) => (settled.granted ? true : this.waitForPool(request, pool, wait, settled.retryAfterMs)))
    return result.granted ? true : this.waitForPool(request, pool, wait, result.retryAfterMs)
  }

  private async waitForPool(request: RequestState, pool: PoolRuntime, wait: boolean, retryAfterMs: number): Promise<boolean> {
    if (!wait) return false
    this.context.emit({ type: 'rate_limited', at: this.context.clock.now(), requestId: request.id, target: pool.name, retryAfterMs, waiting: true })
    try {
      await pool.limiter!.acquire(1, { ...(request.signal ? { signal: request.signal } : {}), deadline: request.deadline })
      return true
    } catch (error) {
      this.rethrowAbort(request)
      throw new RateLimitedError(pool.name, request.attempts, (error as { retryAfterMs?: number }).retryAfterMs ?? retryAfterMs)
    }
  }

  /**
   * Tries instances from `lists` (tiers or echelons, in order) until one succeeds, `maxInstances` have been tried, or
   * none is left. Saturated instances are skipped; when every admitted instance is saturated, waits (FIFO) for
   * capacity within the deadline.
   */
  private async walk<T>(
    request: RequestState,
    lists: InstanceRuntime[][],
    maxInstances: number,
    pool: string | undefined,
    order: (listIndex: number, candidates: InstanceRuntime[]) => InstanceRuntime[],
    run: RunAttempt<T>,
    stepDelayMs = 0,
  ): Promise<Outcome<T>> {
    // Instance keys tried so far (a few at most: an array is cheaper than a Set here).
    const tried: string[] = []
    // Each list is ordered once per request (one turn of round robin, one draw of random or weighted), then
    // filtered at each selection by what is admitted and not yet tried.
    const orders: (InstanceRuntime[] | undefined)[] = new Array(lists.length)
    let lastFailure: Outcome<T> | undefined
    let lastList = -1
    for (let instances = 0; instances < maxInstances && request.budget > 0; ) {
      // Between echelons of a task group: `retry_delay`, once the failed echelon has nothing left to try (and
      // something is left elsewhere: a request with nowhere to go fails at once).
      if (stepDelayMs > 0 && lastFailure) {
        if (!hasCandidate(lists[lastList]!, tried) && lists.some((list) => hasCandidate(list, tried))) await this.pause(request, stepDelayMs)
      }
      const selection = await this.select(request, lists, tried, orders, order, pool)
      if (selection === NO_MORE) break
      instances++
      tried.push(selection.instance.key)
      if (lastFailure && !lastFailure.ok) {
        const previous = request.attempts[request.attempts.length - 1]
        this.context.emit({ type: 'fallback', at: this.context.clock.now(), requestId: request.id, target: request.target, from: previous?.instance ?? '', kind: lastFailure.kind })
      }
      lastList = selection.listIndex
      const outcome = await this.attempt(request, selection, pool, run)
      if (outcome.ok) return outcome
      lastFailure = outcome
    }
    if (lastFailure) return lastFailure
    return { ok: false, kind: 'unknown', error: undefined }
  }

  /** The first admitted instance with capacity, in list order and each list's strategy order. */
  private async select(
    request: RequestState,
    lists: InstanceRuntime[][],
    tried: readonly string[],
    orders: (InstanceRuntime[] | undefined)[],
    order: (listIndex: number, candidates: InstanceRuntime[]) => InstanceRuntime[],
    pool: string | undefined,
  ): Promise<Selection | typeof NO_MORE> {
    const { waiters, clock } = this.context
    for (;;) {
      let saturatedFor = Number.POSITIVE_INFINITY
      let anyAdmitted = false
      // True while every denial was a rate limit, whose retryAfterMs is exact: no release can come sooner.
      let exact = true
      // First in first out among the requests for the same target (they compete for the same instances).
      const mustQueue = waiters.hasWaiters(request.target, request.ticket)
      if (!mustQueue) {
        for (let listIndex = 0; listIndex < lists.length; listIndex++) {
          if (!hasCandidate(lists[listIndex]!, tried)) continue
          const ordered = (orders[listIndex] ??= order(listIndex, lists[listIndex]!))
          for (const instance of ordered) {
            if (!instance.admitted || tried.includes(instance.key)) continue
            anyAdmitted = true
            let lease: Lease | undefined
            if (instance.limiter) {
              const pending = instance.limiter.tryAcquire()
              const result = isPromise(pending) ? await pending : pending
              if (!result.granted) {
                saturatedFor = Math.min(saturatedFor, result.retryAfterMs)
                if (result.reason !== 'rate') exact = false
                continue
              }
              lease = result
            }
            const permit = instance.breaker.tryAcquire()
            if (!permit) {
              lease?.cancel()
              saturatedFor = Math.min(saturatedFor, Math.max(1, instance.breaker.retryAfterMs))
              exact = false
              continue
            }
            if (request.ticket !== undefined) waiters.notify(request.target)
            return { instance, lease, permit, listIndex }
          }
        }
        if (!anyAdmitted) return NO_MORE
      } else {
        anyAdmitted = true
        saturatedFor = 50
        exact = false
      }
      // Every admitted instance is saturated: wait for capacity, first in first out, within the deadline.
      const now = clock.now()
      if (!Number.isFinite(saturatedFor)) saturatedFor = 1000
      // Capacity that comes back only after the deadline is not waited for.
      if (now + (exact ? saturatedFor : Math.min(saturatedFor, 1)) > request.deadline || request.deadline - now <= 0) {
        throw new RateLimitedError(pool ?? request.target, request.attempts, saturatedFor)
      }
      if (request.ticket === undefined) {
        request.ticket = waiters.ticket()
        this.context.emit({ type: 'rate_limited', at: now, requestId: request.id, target: pool ?? request.target, retryAfterMs: saturatedFor, waiting: true })
      }
      try {
        await waiters.wait(request.target, request.ticket, Math.min(saturatedFor, request.deadline - now), request.signal)
      } catch {
        this.rethrowAbort(request)
        throw new RateLimitedError(pool ?? request.target, request.attempts, saturatedFor)
      }
      if (clock.now() >= request.deadline) throw new RateLimitedError(pool ?? request.target, request.attempts, saturatedFor)
    }
  }

  /** Calls one instance, retrying retryable failures up to its `max_retries`. */
  private async attempt<T>(request: RequestState, first: Selection, pool: string | undefined, run: RunAttempt<T>): Promise<Outcome<T>> {
    const { clock } = this.context
    const { instance } = first
    let { lease, permit } = first
    for (let retry = 0; ; retry++) {
      request.budget--
      instance.inFlight++
      const started = clock.now()
      this.context.emit({ type: 'attempt_start', at: started, requestId: request.id, target: request.target, pool, instance: instance.key, retry })
      const attemptSignal = new AttemptSignal(
        clock,
        Math.min(instance.config.timeoutMs, request.deadline - started),
        instance.key,
        request.signal,
        permit.trial ? permit.signal : undefined,
      )
      const settle = (error: unknown, failed: boolean) => {
        attemptSignal.dispose()
        instance.inFlight--
        if (!failed) {
          permit.success()
          instance.health.success()
        } else if (this.requestOver(request)) permit.release()
        else {
          permit.failure(error)
          if (defaultIsFailure(error)) instance.health.failure(classifyFailure(error))
        }
        lease?.release()
        this.context.released(instance)
      }
      let result: AttemptResult<T>
      try {
        const cached = instance.readyModel
        const model = cached ?? (await instance.getModel())
        result = await attemptSignal.race(run(instance, model, this.callFor(request, instance, attemptSignal), new Controls(started, attemptSignal, request)))
      } catch (caught) {
        const error = attemptSignal.timedOut && !this.requestOver(request) ? attemptSignal.reason : caught
        settle(error, true)
        const kind = classifyFailure(error)
        this.record(request, instance, pool, retry, started, error, kind)
        this.rethrowAbort(request)
        if (REJECTIONS.has(kind)) {
          const last = request.attempts[request.attempts.length - 1]!
          throw new RequestRejectedError(request.target, request.attempts, error, kind, last.error?.statusCode)
        }
        const again = await this.retryDelay(request, instance, retry, kind, error)
        if (again === undefined) return { ok: false, kind, error }
        this.context.emit({ type: 'retry', at: clock.now(), requestId: request.id, instance: instance.key, retry: retry + 1, delayMs: again, kind })
        try {
          await sleep(clock, again, request.signal)
        } catch {
          this.rethrowAbort(request)
        }
        // Every attempt passes through the limiters and the breaker again.
        const pending = instance.limiter?.tryAcquire()
        const next = pending && isPromise(pending) ? await pending : pending
        if (next && !next.granted) return { ok: false, kind, error }
        const nextPermit = instance.breaker.tryAcquire()
        if (!nextPermit) {
          next?.cancel()
          return { ok: false, kind, error }
        }
        lease = next
        permit = nextPermit
        continue
      }
      if (result.done) {
        // A stream: the call goes on after the first content; the lease is held until it ends.
        void result.done.then(
          (error) => settle(error, error !== undefined),
          (error: unknown) => settle(error, true),
        )
      } else settle(undefined, false)
      this.record(request, instance, pool, retry, started, undefined, undefined, result)
      return { ok: true, success: { value: result.value, instance } }
    }
  }

  /** Milliseconds to wait before retrying on the same instance, or undefined to move on. */
  private async retryDelay(request: RequestState, instance: InstanceRuntime, retry: number, kind: FailureKind, error: unknown): Promise<number | undefined> {
    if (retry >= instance.config.maxRetries || request.budget <= 0 || !this.context.retryOn.has(kind)) return undefined
    // A call goes to an admitted instance only: one that this failure opened or marked unhealthy is left at once.
    if (!instance.admitted) return undefined
    const now = this.context.clock.now()
    const asked = retryAfterMs(error, now)
    // An upstream that asks for a long pause: another instance serves sooner.
    if (asked !== undefined && asked > this.context.retry.maxRetryDelayMs) return undefined
    const delay = Math.max(asked ?? 0, backoffDelay(this.context.retry, retry + 1, this.context.random))
    if (now + delay >= request.deadline) return undefined
    return delay
  }

  /**
   * The call for an instance: the echelon's temperature and max_tokens unless the caller set them, and the attempt's
   * abort signal, made when the model reads it (`onAbort` finds the attempt under ATTEMPT and makes none).
   * (Object.assign and assignments, not spread-and-add: the latter costs microseconds in Node 20's V8. A caller that
   * passes its signal in `options.signal` rather than in `call.abortSignal` saves the redefinition of a data property
   * as an accessor, the slowest step here.)
   */
  private callFor(request: RequestState, instance: InstanceRuntime, attemptSignal: AttemptSignal): LanguageModelV3CallOptions {
    const { temperature, maxTokens } = instance.config
    const call: LanguageModelV3CallOptions & { [ATTEMPT]?: AttemptSignal } = Object.assign({}, request.call)
    call.temperature = request.call.temperature ?? temperature
    call.maxOutputTokens = request.call.maxOutputTokens ?? maxTokens
    call[ATTEMPT] = attemptSignal
    Object.defineProperty(call, 'abortSignal', ABORT_SIGNAL_PROPERTY)
    return call
  }

  private record(
    request: RequestState,
    instance: InstanceRuntime,
    pool: string | undefined,
    retry: number,
    started: number,
    error: unknown,
    kind: FailureKind | undefined,
    result?: AttemptResult<unknown>,
  ): void {
    const now = this.context.clock.now()
    const durationMs = now - started
    const record: AttemptRecord = { instance: instance.key, retry, durationMs }
    if (pool) record.pool = pool
    const event: RouterEvent & { type: 'attempt_end' } = {
      type: 'attempt_end',
      at: now,
      requestId: request.id,
      target: request.target,
      pool,
      instance: instance.key,
      retry,
      durationMs,
      ok: kind === undefined,
    }
    if (kind !== undefined) {
      const message = scrubMessage(error instanceof Error ? error.message : String(error), [instance.config.settings.apiKey])
      record.error = { kind, message }
      const statusCode = statusOf(error)
      if (statusCode !== undefined) record.error.statusCode = statusCode
      event.error = record.error
    }
    if (result?.timeToFirstTokenMs !== undefined) event.timeToFirstTokenMs = result.timeToFirstTokenMs
    const usage = (result?.value as { usage?: { inputTokens?: { total?: number }; outputTokens?: { total?: number } } } | undefined)?.usage
    if (usage?.inputTokens?.total !== undefined) event.inputTokens = usage.inputTokens.total
    if (usage?.outputTokens?.total !== undefined) event.outputTokens = usage.outputTokens.total
    request.attempts.push(record)
    this.context.emit(event)
  }

  private async pause(request: RequestState, ms: number): Promise<void> {
    const wait = Math.min(ms, Math.max(0, request.deadline - this.context.clock.now()))
    try {
      await sleep(this.context.clock, wait, request.signal)
    } catch {
      this.rethrowAbort(request)
    }
  }

  /** The caller aborted, or the deadline passed. */
  private requestOver(request: RequestState): boolean {
    return request.signal?.aborted === true || this.context.clock.now() >= request.deadline
  }

  /** When the request is over: the caller's abort reason, or a RequestTimeoutError for the deadline. */
  private rethrowAbort(request: RequestState): void {
    if (request.signal?.aborted) throw request.signal.reason
    if (this.context.clock.now() >= request.deadline) throw new RequestTimeoutError(request.target, request.attempts, request.timeoutMs)
  }

  private failure(request: RequestState, lastError: unknown): Error {
    this.rethrowAbort(request)
    if (request.attempts.length === 0) return new NoInstanceAvailableError(request.target, request.attempts, undefined)
    return new AllAttemptsFailedError(request.target, request.attempts, lastError)
  }
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const record = error as { statusCode?: unknown; status?: unknown }
  const status = record.statusCode ?? record.status
  return typeof status === 'number' ? status : undefined
}
