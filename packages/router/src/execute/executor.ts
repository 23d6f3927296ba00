import type { Lease } from '@llmpool/limiter'
import { AllAttemptsFailedError, NoInstanceAvailableError, RateLimitedError } from '../errors'
import type { PoolRuntime } from '../runtime/topology'
import type { Attempt } from './attempt'
import { type ExecutionContext, isPromise, type RequestState, type RunAttempt } from './context'
import { rethrowIfOver } from './over'
import { walkOnce } from './walk'

/**
 * Runs one request through its entry's route: a task group's walk, or a pool's walk and (under `pool_fallback`)
 * those of its fallback pools in order, each behind the pool's own admission limit. Resolves with the attempt that
 * answered; rejects with a RouterError saying why none did.
 */
export async function execute<T>(
  context: ExecutionContext,
  request: RequestState,
  run: RunAttempt<T>,
): Promise<Attempt<T>> {
  if (request.signal?.aborted) throw request.signal.reason // cancelled before it started: no upstream call
  const { walks, pools } = request.entry
  let last: Attempt<T> | undefined
  let admissions: Lease[] | undefined
  try {
    for (let index = 0; index < walks.length; index++) {
      const walk = walks[index]!
      const pool = pools[index]
      if (index > 0) {
        const previous = request.attempts[request.attempts.length - 1]
        context.emit({
          type: 'fallback',
          at: context.clock.now(),
          requestId: request.id,
          target: request.target,
          from: previous?.instance ?? walks[index - 1]!.pool ?? request.target,
          kind: previous?.error?.kind ?? 'unknown',
          toPool: walk.pool,
        })
      }
      if (pool?.admission) {
        const admitted = admit(context, request, pool, index === 0)
        const lease = isPromise(admitted) ? await admitted : admitted
        if (!lease) continue
        ;(admissions ??= []).push(lease)
      }
      const outcome = await walkOnce(context, request, walk, run)
      if (outcome.ok) return outcome.attempt
      last = outcome.last ?? last
      if (request.callsLeft <= 0) break
    }
  } finally {
    // A pool admission is a rate (a token, a window slot): its lease only ends the accounting of the call in flight.
    if (admissions) for (const lease of admissions) lease.release()
  }
  throw failure(context, request, last)
}

/** Pool admission: the pool's own rate limit. The first pool waits (FIFO) within the deadline; fallback pools do not. */
function admit(
  context: ExecutionContext,
  request: RequestState,
  pool: PoolRuntime,
  wait: boolean,
): Lease | undefined | Promise<Lease | undefined> {
  const result = pool.admission!.tryAcquire()
  if (isPromise(result))
    return result.then((settled) =>
      settled.granted ? settled : waitForPool(context, request, pool, wait, settled.retryAfterMs),
    )
  return result.granted ? result : waitForPool(context, request, pool, wait, result.retryAfterMs)
}

async function waitForPool(
  context: ExecutionContext,
  request: RequestState,
  pool: PoolRuntime,
  wait: boolean,
  retryAfterMs: number,
): Promise<Lease | undefined> {
  if (!wait) return undefined
  context.emit({
    type: 'rate_limited',
    at: context.clock.now(),
    requestId: request.id,
    target: pool.name,
    retryAfterMs,
    waiting: true,
  })
  try {
    return await pool.admission!.acquire(1, {
      ...(request.signal ? { signal: request.signal } : {}),
      deadline: request.deadline,
    })
  } catch (error) {
    rethrowIfOver(context, request)
    throw new RateLimitedError(
      pool.name,
      request.attempts,
      (error as { retryAfterMs?: number }).retryAfterMs ?? retryAfterMs,
    )
  }
}

/**
 * Why nothing answered. With no call made: every instance was out — a RateLimitedError when all of them rest after
 * a 429 / 529 (the client should come back when the first rest ends), else a NoInstanceAvailableError with the
 * time the first instance is expected back (breaker, health, cooldown).
 */
function failure<T>(context: ExecutionContext, request: RequestState, last: Attempt<T> | undefined): Error {
  rethrowIfOver(context, request)
  if (request.attempts.length > 0) return new AllAttemptsFailedError(request.target, request.attempts, last?.error)
  let soonest = Number.POSITIVE_INFINITY
  let resting = Number.POSITIVE_INFINITY
  let allResting = true
  for (const walk of request.entry.walks) {
    for (const list of walk.lists) {
      for (const candidate of list) {
        const instance = candidate.instance
        soonest = Math.min(soonest, instance.recoveryMs)
        const kind = instance.cooldown.current
        if (kind === 'rate_limit' || kind === 'overloaded') resting = Math.min(resting, instance.cooldown.remainingMs)
        else allResting = false
      }
    }
  }
  if (allResting && Number.isFinite(resting)) return new RateLimitedError(request.target, request.attempts, resting)
  return new NoInstanceAvailableError(request.target, request.attempts, Number.isFinite(soonest) ? soonest : undefined)
}
