import { InvalidRequestError, LocalFailureError, RequestRejectedError } from '../errors'
import { backoffDelay, retryAfterMs } from '../retry'
import type { Walk } from '../runtime/topology'
import { Attempt } from './attempt'
import { type ExecutionContext, isPromise, type RequestState, type RunAttempt } from './context'
import { REJECTIONS } from './failure'
import { pause, rethrowIfOver } from './over'
import { hasCandidate, NO_MORE, type Selection, select, type WalkState } from './select'

export type WalkOutcome<T> = { ok: true; attempt: Attempt<T> } | { ok: false; last: Attempt<T> | undefined }

/** A retry of the same instance, decided after a failure and started after its delay. */
interface PendingRetry<T> {
  failed: Attempt<T>
  delayMs: number
  listIndex: number
}

const HEDGE = Symbol('hedge')

/** Whether another instance of the walk may still be tried. */
function othersLeft(walk: Walk, state: WalkState, instances: number): boolean {
  if (instances >= walk.maxInstances) return false
  for (const list of walk.lists) if (hasCandidate(list, state.tried)) return true
  return false
}

/**
 * How long to wait before calling the same instance again after `failed`, or undefined to move on. Retrying the
 * same instance is for failures retrying may cure (the entry's `retry_on_errors`), within the echelon's
 * `max_retries` — and never after a 429, a 529 or a timeout while another instance may be tried: that instance
 * serves sooner, and the one that failed rests (docs/routing.md).
 */
function retryDelay<T>(
  context: ExecutionContext,
  request: RequestState,
  walk: Walk,
  state: WalkState,
  instances: number,
  failed: Attempt<T>,
): number | undefined {
  const kind = failed.kind!
  if (!request.retryOn.has(kind) || failed.retry >= failed.candidate.plan.maxRetries || request.callsLeft <= 0)
    return undefined
  const instance = failed.candidate.instance
  const now = context.clock.now()
  let delay: number
  if (kind === 'rate_limit' || kind === 'overloaded') {
    if (othersLeft(walk, state, instances)) return undefined
    // The instance rests; a short rest is worth waiting for when nothing else is left.
    if (instance.draining || !instance.health.healthy || instance.breaker.state === 'open') return undefined
    delay = instance.cooldown.remainingMs
    if (delay > request.retry.maxRetryDelayMs) return undefined
  } else if (kind === 'timeout') {
    if (othersLeft(walk, state, instances) || !instance.admitted) return undefined
    delay = backoffDelay(request.retry, failed.retry + 1, context.random)
  } else {
    // A call goes to an admitted instance only: one that this failure opened or marked unhealthy is left at once.
    if (!instance.admitted) return undefined
    const asked = retryAfterMs(failed.error, now)
    // An upstream that asks for a long pause: another instance serves sooner.
    if (asked !== undefined && asked > request.retry.maxRetryDelayMs) return undefined
    delay = Math.max(asked ?? 0, backoffDelay(request.retry, failed.retry + 1, context.random))
  }
  if (now + delay >= request.deadline) return undefined
  return delay
}

/**
 * One request's walk over one list of lists (a task group's echelons, or one pool's tiers): tries instances in
 * order until one answers, `maxInstances` were tried, the calls run out or nothing is left. Retries one instance
 * when the rules allow it (see `retryDelay`); with hedging, calls the next instance too when one runs longer than
 * `hedgeAfterMs`, and keeps the first answer. (A class rather than closures: one object per walk on the hot path.)
 */
class Walker<T> {
  private readonly state: WalkState
  /** Calls in flight (two at most, with hedging). */
  private readonly running: Attempt<T>[] = []
  private instances = 0
  private last: Attempt<T> | undefined
  private lastList = -1
  private retry: PendingRetry<T> | undefined
  /** The running attempt whose hedge was tried already (one hedge per call). */
  private hedgedFor: Attempt<T> | undefined

  constructor(
    private readonly context: ExecutionContext,
    private readonly request: RequestState,
    private readonly walk: Walk,
    private readonly run: RunAttempt<T>,
  ) {
    this.state = { tried: [], orders: new Array(walk.lists.length) }
  }

  private begin(selection: Selection, retryNumber: number, hedge: boolean): Attempt<T> {
    const attempt = new Attempt<T>(
      this.context,
      this.request,
      selection.candidate,
      selection.lease,
      selection.permit,
      retryNumber,
      hedge,
      this.walk.pool,
    )
    this.running.push(attempt)
    attempt.outcome = attempt.run(this.run)
    return attempt
  }

  private cancelOthers(winner: string): void {
    for (const other of this.running) other.cancel(winner)
  }

  /** Starts the next call: a pending retry, or the next instance. False when nothing is left to try. */
  private async next(): Promise<boolean> {
    const { context, request, walk, state } = this
    if (this.retry) {
      const pending = this.retry
      this.retry = undefined
      await pause(context, request, pending.delayMs)
      const again = await reacquire(context, request, pending)
      if (again) {
        // Reported once the limiter and the breaker said yes, as the retry's call starts.
        context.emit({
          type: 'retry',
          at: context.clock.now(),
          requestId: request.id,
          instance: again.candidate.key,
          retry: pending.failed.retry + 1,
          delayMs: pending.delayMs,
          kind: pending.failed.kind!,
        })
        this.begin(again, pending.failed.retry + 1, false)
        return true
      }
    }
    if (this.instances >= walk.maxInstances || request.callsLeft <= 0) return false
    // Between echelons of a task group: `retry_delay`, once the failed echelon has nothing left to try (and
    // something is left elsewhere: a request with nowhere to go fails at once).
    if (
      walk.stepDelayMs > 0 &&
      this.last &&
      this.lastList >= 0 &&
      !hasCandidate(walk.lists[this.lastList]!, state.tried) &&
      othersLeft(walk, state, this.instances)
    ) {
      await pause(context, request, walk.stepDelayMs)
    }
    const selected = select(context, request, walk, state)
    const selection = isPromise(selected) ? await selected : selected
    if (selection === NO_MORE) return false
    this.instances++
    state.tried.push(selection.candidate.key)
    this.lastList = selection.listIndex
    if (this.last)
      context.emit({
        type: 'fallback',
        at: context.clock.now(),
        requestId: request.id,
        target: request.target,
        from: this.last.candidate.key,
        kind: this.last.kind!,
      })
    this.begin(selection, 0, false)
    return true
  }

  /** Waits for a call to end, or (hedging) for the moment to call the next instance too. */
  private settled(): Promise<Attempt<T> | typeof HEDGE> {
    const { walk, running, request } = this
    const primary = running[0]!
    if (
      running.length === 1 &&
      walk.hedgeAfterMs !== undefined &&
      this.hedgedFor !== primary &&
      this.instances < walk.maxInstances &&
      request.callsLeft > 0
    ) {
      return raceHedge(this.context, primary.outcome!, primary.started + walk.hedgeAfterMs - this.context.clock.now())
    }
    return running.length === 1 ? primary.outcome! : Promise.race(running.map((attempt) => attempt.outcome!))
  }

  private async hedge(): Promise<void> {
    const { context, request, walk, state } = this
    const primary = this.running[0]!
    this.hedgedFor = primary
    const selection = await select(context, request, walk, state, false)
    if (selection === NO_MORE) return
    this.instances++
    state.tried.push(selection.candidate.key)
    const hedge = this.begin(selection, 0, true)
    context.emit({
      type: 'hedge',
      at: context.clock.now(),
      requestId: request.id,
      target: request.target,
      from: primary.candidate.key,
      to: hedge.candidate.key,
      afterMs: walk.hedgeAfterMs!,
    })
  }

  async go(): Promise<WalkOutcome<T>> {
    const { context, request, running } = this
    for (;;) {
      if (running.length === 0 && !(await this.next())) break
      const settled = await this.settled()
      if (settled === HEDGE) {
        await this.hedge()
        continue
      }
      running.splice(running.indexOf(settled), 1)
      if (settled.ok) {
        if (running.length > 0) this.cancelOthers(settled.candidate.key)
        return { ok: true, attempt: settled }
      }
      this.last = settled
      if (settled.blame === 'caller') {
        this.cancelOthers('the request ended')
        rethrowIfOver(context, request)
      } else if (settled.blame === 'client') {
        this.cancelOthers('the request is invalid')
        throw new InvalidRequestError(request.target, request.attempts, settled.error)
      } else if (settled.blame === 'local') {
        this.cancelOthers('this process failed')
        throw new LocalFailureError(request.target, request.attempts, settled.error)
      } else if (REJECTIONS.has(settled.kind!)) {
        this.cancelOthers('the request was rejected')
        const record = request.attempts[request.attempts.length - 1]
        throw new RequestRejectedError(
          request.target,
          request.attempts,
          settled.error,
          settled.kind!,
          record?.error?.statusCode,
        )
      }
      // Another call of this request is still running: it may still answer.
      if (running.length > 0) continue
      rethrowIfOver(context, request)
      const delayMs = retryDelay(context, request, this.walk, this.state, this.instances, settled)
      if (delayMs !== undefined) this.retry = { failed: settled, delayMs, listIndex: this.lastList }
    }
    return { ok: false, last: this.last }
  }
}

/** Runs one request's walk (see `Walker`). */
export function walkOnce<T>(
  context: ExecutionContext,
  request: RequestState,
  walk: Walk,
  run: RunAttempt<T>,
): Promise<WalkOutcome<T>> {
  return new Walker(context, request, walk, run).go()
}

/** The attempt's outcome, or HEDGE when `ms` pass first. */
function raceHedge<T>(
  context: ExecutionContext,
  result: Promise<Attempt<T>>,
  ms: number,
): Promise<Attempt<T> | typeof HEDGE> {
  if (ms <= 0) return Promise.resolve(HEDGE)
  return new Promise((resolve) => {
    const timer = context.clock.setTimeout(() => resolve(HEDGE), ms)
    result.then((attempt) => {
      context.clock.clearTimeout(timer)
      resolve(attempt)
    })
  })
}

/** A retry passes through the instance's limits and breaker again; undefined when either says no (the request moves on). */
async function reacquire<T>(
  context: ExecutionContext,
  request: RequestState,
  pending: PendingRetry<T>,
): Promise<Selection | undefined> {
  const { candidate } = pending.failed
  const instance = candidate.instance
  if (!instance.admitted) return undefined
  const tried = instance.limiter?.tryAcquire()
  const lease = tried && isPromise(tried) ? await tried : tried
  if (lease && !lease.granted) return undefined
  const permit = instance.breaker.tryAcquire()
  if (!permit) {
    lease?.cancel()
    return undefined
  }
  if (request.signal?.aborted || context.clock.now() >= request.deadline) {
    lease?.cancel()
    permit.release()
    rethrowIfOver(context, request)
  }
  return { candidate, lease: lease || undefined, permit, listIndex: pending.listIndex }
}
