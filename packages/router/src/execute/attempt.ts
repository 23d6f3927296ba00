import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { type BreakerPermit, classifyFailure, type FailureKind, statusOf } from '@llmpool/breaker'
import type { Lease } from '@llmpool/limiter'
import { ATTEMPT, AttemptSignal } from '../attempt-signal'
import type { AttemptRecord } from '../errors'
import type { RouterEvent } from '../events'
import type { Candidate } from '../runtime/candidate'
import { scrubMessage } from '../scrub'
import type { AttemptControls, AttemptResult, ExecutionContext, RequestState, RunAttempt } from './context'
import { type Blame, blameOf, COOLDOWN_KINDS, COUNTED, cooldownFor } from './failure'

/** The `abortSignal` of every call the router makes: one getter shared by all calls, reading the attempt each carries. */
const ABORT_SIGNAL_PROPERTY: PropertyDescriptor = {
  get(this: { [ATTEMPT]: AttemptSignal }) {
    return this[ATTEMPT].signal
  },
  enumerable: true,
  configurable: true,
}

/** Why the router stopped a call of its own accord: another call of the request answered first. */
export class HedgeLostError extends Error {
  constructor(winner: string) {
    super(`stopped: ${winner} answered first`)
    this.name = 'AbortError'
  }
}

/**
 * One upstream call of a request: it holds the instance's lease and breaker permit, runs the model within the
 * attempt's timeout, and settles the instance's state by what happened — success, an upstream failure (breaker,
 * health or cooldown), or something that is not the instance's doing (the caller gave up, the request was invalid,
 * this process failed, a hedge won), which touches nothing.
 */
export class Attempt<T> implements AttemptControls {
  readonly started: number
  readonly signal: AttemptSignal
  /** Settled: `ok` with `value`, or failed with `error`, `kind` and `blame`. */
  ok = false
  value: AttemptResult<T> | undefined
  error: unknown
  kind: FailureKind | undefined
  blame: Blame | 'caller' | 'router' | undefined
  /** Stopped by the router because another call won. */
  cancelled = false
  /** Settles with this attempt once it has an outcome (set by the walk when it starts the call). */
  outcome: Promise<this> | undefined = undefined
  private settled = false
  /** The request's deadline comes before the attempt's own timeout: running out of time is then not the instance's fault. */
  private readonly cutByDeadline: boolean

  constructor(
    private readonly context: ExecutionContext,
    readonly request: RequestState,
    readonly candidate: Candidate,
    private readonly lease: Lease | undefined,
    private readonly permit: BreakerPermit,
    /** 0 for the first call on this instance in this request, 1.. for retries. */
    readonly retry: number,
    readonly hedge: boolean,
    readonly pool: string | undefined,
  ) {
    const { clock } = context
    const instance = candidate.instance
    this.started = clock.now()
    request.callsLeft--
    instance.inFlight++
    const event: RouterEvent & { type: 'attempt_start' } = {
      type: 'attempt_start',
      at: this.started,
      requestId: request.id,
      target: request.target,
      pool,
      instance: instance.key,
      retry,
    }
    if (hedge) event.hedge = true
    if (request.operation) event.operation = request.operation
    context.emit(event)
    const limitMs = request.stream ? candidate.plan.firstTokenTimeoutMs : candidate.plan.attemptTimeoutMs
    this.cutByDeadline = request.deadline - this.started < limitMs
    this.signal = new AttemptSignal(
      clock,
      Math.min(limitMs, request.deadline - this.started),
      instance.key,
      request.signal,
      permit.trial ? permit.signal : undefined,
    )
  }

  disarmTimeout(): void {
    this.signal.disarm()
  }

  /** Stops the call: another call of the request answered. It counts against no one. */
  cancel(winner: string): void {
    if (this.settled) return
    this.cancelled = true
    this.signal.abort(new HedgeLostError(winner))
  }

  /** Runs the call; resolves with this attempt once it has an outcome (never rejects). */
  async run(run: RunAttempt<T>): Promise<this> {
    const instance = this.candidate.instance
    try {
      this.value = await this.signal.race(run(instance, this))
      this.ok = true
    } catch (caught) {
      this.fail(caught)
      return this
    }
    const done = this.value.done
    if (done) {
      // A stream: the call goes on after the first content; the lease is held until it ends.
      void done.then(
        (error) => (error === undefined ? this.settleSuccess() : this.settleFailure(error)),
        (error: unknown) => this.settleFailure(error),
      )
    } else this.settleSuccess()
    this.record()
    return this
  }

  /** The instance itself ran out of its time (not the request's deadline). */
  private get instanceTimedOut(): boolean {
    return this.signal.timedOut && !this.cutByDeadline
  }

  /** The request is over: the caller aborted, or (before an answer) its deadline passed. */
  private requestOver(): boolean {
    const { request } = this
    return request.signal?.aborted === true || (!this.ok && this.context.clock.now() >= request.deadline)
  }

  private fail(caught: unknown): void {
    this.error = this.instanceTimedOut && !this.requestOver() ? this.signal.reason : caught
    this.kind = this.settleFailure(this.error)
    this.record()
  }

  /** Who the failure is on, and what it does to the instance; returns its kind. */
  private settleFailure(error: unknown): FailureKind {
    const timedOut = !this.ok && this.instanceTimedOut
    const blame: Attempt<T>['blame'] = this.cancelled
      ? 'router'
      : timedOut
        ? 'upstream'
        : this.requestOver()
          ? 'caller'
          : blameOf(error)
    const kind: FailureKind = timedOut ? 'timeout' : classifyFailure(error)
    this.blame ??= blame
    if (this.settled) return kind
    this.settled = true
    const instance = this.candidate.instance
    this.signal.dispose()
    instance.inFlight--
    if (blame !== 'upstream' || !COUNTED.has(kind)) this.permit.release()
    else {
      this.permit.failure(error)
      instance.health.failure(kind)
    }
    if (blame === 'upstream' && COOLDOWN_KINDS.has(kind)) {
      const cooldown = cooldownFor(kind, error, instance, this.context.clock.now())
      if (cooldown && cooldown.ms > 0 && instance.cooldown.rest(cooldown.ms, cooldown.kind, cooldown.reason)) {
        this.context.emit({
          type: 'cooldown',
          at: this.context.clock.now(),
          instance: instance.key,
          kind: cooldown.kind,
          durationMs: cooldown.ms,
          reason: cooldown.reason,
          remote: false,
          requestId: this.request.id,
        })
        this.context.rested(instance, cooldown)
      }
    }
    this.lease?.release()
    this.context.released(instance)
    return kind
  }

  /** The call answered (a stream: it ended cleanly, or the caller stopped reading). */
  private settleSuccess(): void {
    if (this.settled) return
    this.settled = true
    const instance = this.candidate.instance
    this.signal.dispose()
    instance.inFlight--
    this.permit.success()
    instance.health.success()
    this.lease?.release()
    this.context.released(instance)
  }

  /**
   * The call for this instance: the echelon's temperature and max_tokens unless the caller set them, and the
   * attempt's abort signal, made when the model reads it (`onAbort` finds the attempt under ATTEMPT and makes none).
   * (Object.assign and assignments, not spread-and-add: the latter costs microseconds in Node 20's V8.)
   */
  languageCall(): LanguageModelV3CallOptions {
    const { request } = this
    const { temperature, maxTokens } = this.candidate.instance.plan
    const call: LanguageModelV3CallOptions & { [ATTEMPT]?: AttemptSignal } = Object.assign({}, request.call)
    call.temperature = request.call.temperature ?? temperature
    call.maxOutputTokens = request.call.maxOutputTokens ?? maxTokens
    call[ATTEMPT] = this.signal
    Object.defineProperty(call, 'abortSignal', ABORT_SIGNAL_PROPERTY)
    return call
  }

  /** Adds the attempt to the request's record and reports it. */
  private record(): void {
    const { request, context } = this
    const instance = this.candidate.instance
    const now = context.clock.now()
    const durationMs = now - this.started
    const record: AttemptRecord = { instance: instance.key, retry: this.retry, durationMs }
    if (this.pool) record.pool = this.pool
    if (this.hedge) record.hedge = true
    const event: RouterEvent & { type: 'attempt_end' } = {
      type: 'attempt_end',
      at: now,
      requestId: request.id,
      target: request.target,
      pool: this.pool,
      instance: instance.key,
      retry: this.retry,
      durationMs,
      ok: this.ok,
    }
    if (this.hedge) event.hedge = true
    if (request.operation) event.operation = request.operation
    if (!this.ok) {
      const message = this.cancelled
        ? (this.signal.reason as Error).message
        : scrubMessage(this.error instanceof Error ? this.error.message : String(this.error), [instance.plan.apiKey])
      record.error = { kind: this.cancelled ? 'aborted' : this.kind!, message }
      const statusCode = statusOf(this.error)
      if (statusCode !== undefined && !this.cancelled) record.error.statusCode = statusCode
      if (this.cancelled) {
        record.cancelled = true
        event.cancelled = true
      }
      event.error = record.error
    } else {
      const result = this.value!
      if (result.timeToFirstTokenMs !== undefined) event.timeToFirstTokenMs = result.timeToFirstTokenMs
      // A language model's usage, or an embedding model's (`{ tokens }`: input tokens only).
      const usage = (
        result.value as
          | { usage?: { inputTokens?: { total?: number }; outputTokens?: { total?: number }; tokens?: number } }
          | undefined
      )?.usage
      if (usage?.inputTokens?.total !== undefined) event.inputTokens = usage.inputTokens.total
      else if (usage?.tokens !== undefined) event.inputTokens = usage.tokens
      if (usage?.outputTokens?.total !== undefined) event.outputTokens = usage.outputTokens.total
    }
    request.attempts.push(record)
    context.emit(event)
  }
}
