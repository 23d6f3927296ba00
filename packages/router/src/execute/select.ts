import type { BreakerPermit } from '@llmpool/breaker'
import { type Acquisition, AcquireTimeoutError, type Lease } from '@llmpool/limiter'
import { RateLimitedError } from '../errors'
import type { Candidate } from '../runtime/candidate'
import type { Walk } from '../runtime/topology'
import { type ExecutionContext, isPromise, type RequestState } from './context'
import { rethrowIfOver } from './over'

/** An instance chosen for a call, with its lease and breaker permit. */
export interface Selection {
  candidate: Candidate
  lease: Lease | undefined
  permit: BreakerPermit
  listIndex: number
}

export const NO_MORE = Symbol('no more candidates')

/** What one request's walk has done so far. */
export interface WalkState {
  /** Instance keys tried (or running) in this walk: a few at most, so an array. */
  tried: string[]
  /** Each list ordered once per request (one turn of round robin, one draw of random or weighted). */
  orders: (Candidate[] | undefined)[]
}

/** A cooldown short enough to wait for: the upstream asked for a pause we would wait for on a retry anyway. */
function waitableCooldown(candidate: Candidate, request: RequestState): number | undefined {
  const instance = candidate.instance
  const kind = instance.cooldown.current
  if (kind !== 'rate_limit' && kind !== 'overloaded') return undefined
  if (instance.draining || !instance.health.healthy || instance.breaker.state === 'open') return undefined
  const remaining = instance.cooldown.remainingMs
  return remaining <= request.retry.maxRetryDelayMs ? remaining : undefined
}

/** Whether a list has an admitted instance not tried yet. */
export function hasCandidate(list: readonly Candidate[], tried: readonly string[]): boolean {
  for (const candidate of list) if (candidate.instance.admitted && !tried.includes(candidate.key)) return true
  return false
}

/**
 * The candidates a strategy orders: those admitted and not tried yet (the list itself when that is all of them).
 * Rotation then takes turns among the instances that can serve, so a resting one's turn is not handed to its
 * neighbour twice.
 */
function open(list: Candidate[], tried: readonly string[]): Candidate[] {
  let all = true
  for (const candidate of list) {
    if (!candidate.instance.admitted || (tried.length > 0 && tried.includes(candidate.key))) {
      all = false
      break
    }
  }
  if (all) return list
  const result: Candidate[] = []
  for (const candidate of list)
    if (candidate.instance.admitted && !tried.includes(candidate.key)) result.push(candidate)
  return result
}

/** One pass over the candidates: a selection, or why there is none (and how long capacity may take). */
class Scan {
  selection: Selection | undefined = undefined
  saturatedFor = Number.POSITIVE_INFINITY
  anyAdmitted = false
  /** True while every denial was a rate limit or a cooldown, whose wait is exact: no release can come sooner. */
  exact = true
  /** The first instance (in the walk's order) its limits denied: where the request waits in line. */
  bottleneck: Candidate | undefined = undefined
  bottleneckList = 0
}

/** The limiter's answer for `candidate`: a lease (selection made) or a denial noted in `scan`. */
function settle(scan: Scan, candidate: Candidate, listIndex: number, acquired: Acquisition | undefined): boolean {
  if (acquired && !acquired.granted) {
    scan.saturatedFor = Math.min(scan.saturatedFor, acquired.retryAfterMs)
    if (acquired.reason !== 'rate') scan.exact = false
    if (scan.bottleneck === undefined) {
      scan.bottleneck = candidate
      scan.bottleneckList = listIndex
    }
    return false
  }
  const lease = acquired as Lease | undefined
  const permit = candidate.instance.breaker.tryAcquire()
  if (!permit) {
    lease?.cancel()
    scan.saturatedFor = Math.min(scan.saturatedFor, Math.max(1, candidate.instance.breaker.retryAfterMs))
    scan.exact = false
    return false
  }
  scan.selection = { candidate, lease, permit, listIndex }
  return true
}

/**
 * One pass: the first admitted instance with capacity, in list order and each list's strategy order. Synchronous
 * with the memory limiters; it continues asynchronously from the candidate whose limiter answered with a promise.
 */
function scan(
  request: RequestState,
  walk: Walk,
  state: WalkState,
  result = new Scan(),
  from?: { list: number; index: number },
): Scan | Promise<Scan> {
  const { lists } = walk
  for (let listIndex = from?.list ?? 0; listIndex < lists.length; listIndex++) {
    const list = lists[listIndex]!
    let ordered = state.orders[listIndex]
    if (!ordered) {
      const candidates = open(list, state.tried)
      if (candidates.length === 0) continue
      ordered = state.orders[listIndex] = walk.order(listIndex, candidates)
    }
    for (let index = from !== undefined && listIndex === from.list ? from.index : 0; index < ordered.length; index++) {
      const candidate = ordered[index]!
      if (state.tried.includes(candidate.key) || !candidate.instance.admitted) continue
      result.anyAdmitted = true
      const pending = candidate.instance.limiter?.tryAcquire()
      if (pending !== undefined && isPromise(pending)) {
        return pending.then((acquired) =>
          settle(result, candidate, listIndex, acquired)
            ? result
            : scan(request, walk, state, result, { list: listIndex, index: index + 1 }),
        )
      }
      if (settle(result, candidate, listIndex, pending)) return result
    }
    from = undefined
  }
  return noteShortRests(request, walk, state, result)
}

/**
 * Nothing had capacity: instances resting briefly (a 429 with a short retry time) count as saturated — when nothing
 * else frees up sooner, the request waits for them. (Looked at only once a pass found nothing: off the hot path.)
 */
function noteShortRests(request: RequestState, walk: Walk, state: WalkState, result: Scan): Scan {
  for (const list of walk.lists) {
    for (const candidate of list) {
      if (candidate.instance.admitted || state.tried.includes(candidate.key)) continue
      const resting = waitableCooldown(candidate, request)
      if (resting === undefined) continue
      result.anyAdmitted = true
      result.saturatedFor = Math.min(result.saturatedFor, Math.max(1, resting))
    }
  }
  return result
}

/**
 * The first admitted instance with capacity, in list order and each list's strategy order; a saturated instance is
 * skipped for the next. When every admitted instance is saturated (or resting for less than the longest retry
 * pause), waits for capacity within the deadline — unless `wait` is false (a hedge takes only what is free now).
 * Synchronous when the limiters are (the memory backend).
 */
export function select(
  context: ExecutionContext,
  request: RequestState,
  walk: Walk,
  state: WalkState,
  wait = true,
): Selection | typeof NO_MORE | Promise<Selection | typeof NO_MORE> {
  const scanned = scan(request, walk, state)
  if (isPromise(scanned)) return scanned.then((result) => decide(context, request, walk, state, result, wait))
  return decide(context, request, walk, state, scanned, wait)
}

function decide(
  context: ExecutionContext,
  request: RequestState,
  walk: Walk,
  state: WalkState,
  result: Scan,
  wait: boolean,
): Selection | typeof NO_MORE | Promise<Selection | typeof NO_MORE> {
  if (result.selection) return result.selection
  if (!result.anyAdmitted || !wait) return NO_MORE
  return waitForCapacity(context, request, walk, state, result)
}

/**
 * Every admitted instance is saturated: wait for capacity within the deadline, then look again. The request waits
 * in line at the limiter that denied it first (`acquire`: first in first out — and, on Redis, in the queue every
 * process shares, so replicas take turns); a wait for a breaker's trial slot or a short rest is a timed wait, woken
 * early when any lease comes back. Capacity that comes back only after the deadline is not waited for.
 */
async function waitForCapacity(
  context: ExecutionContext,
  request: RequestState,
  walk: Walk,
  state: WalkState,
  first: Scan,
): Promise<Selection | typeof NO_MORE> {
  const { waiters, clock } = context
  const target = walk.pool ?? request.target
  let result = first
  for (;;) {
    const now = clock.now()
    const saturatedFor = Number.isFinite(result.saturatedFor) ? result.saturatedFor : 1000
    if (
      now + (result.exact ? saturatedFor : Math.min(saturatedFor, 1)) > request.deadline ||
      request.deadline - now <= 0
    ) {
      throw new RateLimitedError(target, request.attempts, saturatedFor)
    }
    if (request.ticket === undefined) {
      request.ticket = waiters.ticket()
      context.emit({
        type: 'rate_limited',
        at: now,
        requestId: request.id,
        target,
        retryAfterMs: saturatedFor,
        waiting: true,
      })
    }
    const bottleneck = result.bottleneck
    if (bottleneck?.instance.limiter && bottleneck.instance.admitted) {
      const selection = await waitInLine(
        context,
        request,
        bottleneck,
        result.bottleneckList,
        state,
        Math.min(request.deadline, now + Math.max(saturatedFor, 50)),
        target,
        saturatedFor,
      )
      if (selection) return selection
    } else {
      try {
        await waiters.wait(
          request.target,
          request.ticket,
          Math.min(saturatedFor, request.deadline - now),
          request.signal,
        )
      } catch {
        rethrowIfOver(context, request)
        throw new RateLimitedError(target, request.attempts, saturatedFor)
      }
    }
    if (clock.now() >= request.deadline) throw new RateLimitedError(target, request.attempts, saturatedFor)
    const scanned = scan(request, walk, state)
    result = isPromise(scanned) ? await scanned : scanned
    if (result.selection) return result.selection
    if (!result.anyAdmitted) return NO_MORE
  }
}

/**
 * Waits in the limiter's own line for `candidate`, until `until` — or until a lease comes back anywhere in this
 * router (another instance may serve now): its selection, or undefined to look again.
 */
async function waitInLine(
  context: ExecutionContext,
  request: RequestState,
  candidate: Candidate,
  listIndex: number,
  state: WalkState,
  until: number,
  target: string,
  saturatedFor: number,
): Promise<Selection | undefined> {
  const limiter = candidate.instance.limiter!
  const before = context.clock.now()
  const stop = new AbortController()
  const signal = request.signal ? AbortSignal.any([request.signal, stop.signal]) : stop.signal
  const inLine = limiter.acquire(1, { signal, deadline: until })
  const woken = context.waiters
    .wait(request.target, request.ticket ?? context.waiters.ticket(), Math.max(1, until - before), signal)
    .then(
      () => 'woken' as const,
      () => 'woken' as const,
    )
  let lease: Lease | 'woken'
  try {
    lease = await Promise.race([inLine, woken])
  } catch (error) {
    stop.abort()
    if (request.signal?.aborted) throw request.signal.reason
    if (!AcquireTimeoutError.isInstance(error)) throw error
    const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs
    // Capacity did not come back before the deadline — or will not, says the limiter: the request is rate limited.
    if (
      context.clock.now() >= request.deadline ||
      (retryAfterMs !== undefined && context.clock.now() + retryAfterMs > request.deadline)
    ) {
      throw new RateLimitedError(target, request.attempts, retryAfterMs ?? saturatedFor)
    }
    // Refused at once (the limit recovers only after `until`): wait that long before looking again.
    if (context.clock.now() - before < 1) await sleepUntil(context, request, until)
    return undefined
  }
  if (lease === 'woken') {
    // A lease came back here: stop waiting in line (a grant that raced the wake-up is given back), and look again.
    stop.abort()
    inLine.then(
      (late) => late.cancel(),
      () => undefined,
    )
    if (request.signal?.aborted) throw request.signal.reason
    return undefined
  }
  stop.abort()
  const permit =
    candidate.instance.admitted && !state.tried.includes(candidate.key)
      ? candidate.instance.breaker.tryAcquire()
      : undefined
  if (!permit) {
    lease.cancel()
    return undefined
  }
  return { candidate, lease, permit, listIndex }
}

async function sleepUntil(context: ExecutionContext, request: RequestState, until: number): Promise<void> {
  const ms = Math.min(until, request.deadline) - context.clock.now()
  if (ms <= 0) return
  try {
    await context.waiters.wait(request.target, request.ticket ?? context.waiters.ticket(), ms, request.signal)
  } catch {
    rethrowIfOver(context, request)
  }
}
