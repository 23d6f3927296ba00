import type { BreakerPermit } from '@llmpool/breaker'
import type { Lease } from '@llmpool/limiter'
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
  const kind = candidate.instance.cooldown.current
  if (kind !== 'rate_limit' && kind !== 'overloaded') return undefined
  if (candidate.instance.draining || !candidate.instance.health.healthy || candidate.instance.breaker.state === 'open') return undefined
  const remaining = candidate.instance.cooldown.remainingMs
  return remaining <= request.retry.maxRetryDelayMs ? remaining : undefined
}

/**
 * The candidates a strategy orders: those admitted and not tried yet (the list itself when that is all of them).
 * Rotation then takes turns among the instances that can serve, so a resting one's turn is not handed to its
 * neighbour twice.
 */
function open(list: Candidate[], tried: readonly string[]): Candidate[] {
  let all = true
  for (const candidate of list) {
    if (!candidate.instance.admitted || tried.includes(candidate.key)) {
      all = false
      break
    }
  }
  if (all) return list
  const result: Candidate[] = []
  for (const candidate of list) if (candidate.instance.admitted && !tried.includes(candidate.key)) result.push(candidate)
  return result
}

/** Whether a list has an admitted instance not tried yet. */
export function hasCandidate(list: readonly Candidate[], tried: readonly string[]): boolean {
  for (const candidate of list) if (candidate.instance.admitted && !tried.includes(candidate.key)) return true
  return false
}

/**
 * The first admitted instance with capacity, in list order and each list's strategy order. A saturated instance is
 * skipped for the next. When every admitted instance is saturated (or resting for less than the longest retry
 * pause), waits first in first out among the requests for the same target, within the deadline — unless `wait` is
 * false (a hedge takes only what is free now).
 */
export async function select(context: ExecutionContext, request: RequestState, walk: Walk, state: WalkState, wait = true): Promise<Selection | typeof NO_MORE> {
  const { waiters, clock } = context
  const { lists } = walk
  const queue = request.target
  for (;;) {
    let saturatedFor = Number.POSITIVE_INFINITY
    let anyAdmitted = false
    // True while every denial was a rate limit or a cooldown, whose wait is exact: no release can come sooner.
    let exact = true
    // First in first out among the requests for the same target (they compete for the same instances).
    const mustQueue = wait && waiters.hasWaiters(queue, request.ticket)
    if (!mustQueue) {
      for (let listIndex = 0; listIndex < lists.length; listIndex++) {
        const list = lists[listIndex]!
        // Instances resting briefly (a 429 with a short retry time): when nothing else has capacity, wait for them.
        for (const candidate of list) {
          if (candidate.instance.admitted || state.tried.includes(candidate.key)) continue
          const resting = waitableCooldown(candidate, request)
          if (resting === undefined) continue
          anyAdmitted = true
          saturatedFor = Math.min(saturatedFor, Math.max(1, resting))
        }
        if (!state.orders[listIndex] && !hasCandidate(list, state.tried)) continue
        const ordered = (state.orders[listIndex] ??= walk.order(listIndex, open(list, state.tried)))
        for (const candidate of ordered) {
          if (state.tried.includes(candidate.key)) continue
          const instance = candidate.instance
          if (!instance.admitted) continue
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
          if (request.ticket !== undefined) waiters.notify(queue)
          return { candidate, lease, permit, listIndex }
        }
      }
      if (!anyAdmitted || !wait) return NO_MORE
    } else {
      saturatedFor = 50
      exact = false
    }
    // Every admitted instance is saturated: wait for capacity, first in first out, within the deadline.
    const now = clock.now()
    if (!Number.isFinite(saturatedFor)) saturatedFor = 1000
    const target = walk.pool ?? request.target
    // Capacity that comes back only after the deadline is not waited for.
    if (now + (exact ? saturatedFor : Math.min(saturatedFor, 1)) > request.deadline || request.deadline - now <= 0) {
      throw new RateLimitedError(target, request.attempts, saturatedFor)
    }
    if (request.ticket === undefined) {
      request.ticket = waiters.ticket()
      context.emit({ type: 'rate_limited', at: now, requestId: request.id, target, retryAfterMs: saturatedFor, waiting: true })
    }
    try {
      await waiters.wait(queue, request.ticket, Math.min(saturatedFor, request.deadline - now), request.signal)
    } catch {
      rethrowIfOver(context, request)
      throw new RateLimitedError(target, request.attempts, saturatedFor)
    }
    if (clock.now() >= request.deadline) throw new RateLimitedError(target, request.attempts, saturatedFor)
  }
}
