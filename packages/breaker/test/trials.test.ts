/**
 * `coordinateTrials`: a half-open breaker shared by several processes runs trials only while its coordinator grants
 * it the round. Fake clock, a coordinator that records its calls and answers as the test says.
 */
import { CircuitBreaker, type TrialCoordinator, type TrialRound } from '@llmpool/breaker'
import { describe, expect, test } from 'vitest'
import { deferred, flush, ManualClock, record, serverError, transitions } from './helpers'

/** A coordinator whose claims wait for `answer()`; it records claims, extensions and ends. */
function coordinator() {
  const calls: string[] = []
  let pending: ReturnType<typeof deferred<TrialRound>> | undefined
  const round = (granted: boolean, retryAfterMs = 0): TrialRound => ({
    granted,
    retryAfterMs,
    extend: (ttlMs) => calls.push(`extend ${ttlMs}`),
    end: () => calls.push('end'),
  })
  const fake: TrialCoordinator = {
    claim: (ttlMs) => {
      calls.push(`claim ${ttlMs}`)
      pending = deferred<TrialRound>()
      return pending.promise
    },
  }
  return {
    fake,
    calls,
    /** Answers the claim on its way. */
    answer: async (granted: boolean, retryAfterMs?: number) => {
      pending!.resolve(round(granted, retryAfterMs))
      await flush()
    },
  }
}

function openBreaker(clock: ManualClock, halfOpenRequests = 1): CircuitBreaker {
  const breaker = new CircuitBreaker({
    failureThreshold: 1,
    recoveryTimeMs: 1000,
    halfOpenRequests,
    trialTimeoutMs: 5000,
    clock,
  })
  breaker.tryAcquire()!.failure(serverError())
  return breaker
}

describe('coordinateTrials', () => {
  test('closed and open breakers never ask; half-open asks once, refuses meanwhile, then admits as answered', async () => {
    const clock = new ManualClock()
    const { fake, calls, answer } = coordinator()
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeMs: 1000,
      halfOpenRequests: 2,
      trialTimeoutMs: 5000,
      clock,
    })
    breaker.coordinateTrials(fake)
    breaker.tryAcquire()!.failure(serverError())
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(calls).toEqual([])
    clock.advance(1000)
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(calls).toEqual(['claim 5000'])
    expect(breaker.retryAfterMs).toBe(1)
    await answer(true)
    expect(breaker.retryAfterMs).toBe(0)
    const first = breaker.tryAcquire()!
    const second = breaker.tryAcquire()!
    expect([first.trial, second.trial]).toEqual([true, true])
    expect(breaker.tryAcquire()).toBeUndefined()
    // Each trial keeps the round for its timeout.
    expect(calls).toEqual(['claim 5000', 'extend 5000', 'extend 5000'])
    first.success()
    second.success()
    expect(breaker.state).toBe('closed')
    expect(calls.at(-1)).toBe('end')
  })

  test('another process holds the round: refused, with its time left, until it lapses; then asks again', async () => {
    const clock = new ManualClock()
    const { fake, calls, answer } = coordinator()
    const breaker = openBreaker(clock)
    breaker.coordinateTrials(fake)
    clock.advance(1000)
    expect(breaker.tryAcquire()).toBeUndefined()
    await answer(false, 3000)
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(breaker.retryAfterMs).toBe(3000)
    await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({
      code: 'circuit_half_open_full',
      retryAfterMs: 3000,
    })
    clock.advance(2999)
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(calls).toEqual(['claim 5000'])
    clock.advance(1)
    expect(breaker.tryAcquire()).toBeUndefined()
    expect(calls).toEqual(['claim 5000', 'claim 5000'])
    await answer(true)
    expect(breaker.tryAcquire()?.trial).toBe(true)
  })

  test('execute() waits for the answer to its claim', async () => {
    const clock = new ManualClock()
    const { fake, answer } = coordinator()
    const breaker = openBreaker(clock)
    breaker.coordinateTrials(fake)
    clock.advance(1000)
    const running = breaker.execute(async () => 'ok')
    await flush()
    await answer(true)
    await expect(running).resolves.toBe('ok')
    expect(breaker.state).toBe('closed')
  })

  test('a failed trial opens the breaker, and the round ends after listeners heard it', async () => {
    const clock = new ManualClock()
    const { fake, calls, answer } = coordinator()
    const breaker = openBreaker(clock)
    const order: string[] = []
    breaker.onStateChange((change) => order.push(`${change.from}→${change.to}`))
    breaker.coordinateTrials(fake)
    clock.advance(1000)
    breaker.tryAcquire()
    await answer(true)
    const permit = breaker.tryAcquire()!
    const heard = calls.length
    breaker.onStateChange(() => order.push(`calls ${calls.length - heard}`))
    permit.failure(serverError())
    expect(breaker.state).toBe('open')
    expect(order.slice(-2)).toEqual(['half_open→open', 'calls 0'])
    expect(calls.at(-1)).toBe('end')
  })

  test('an answer that comes after the state changed is not used, and a granted one is given back', async () => {
    const clock = new ManualClock()
    const { fake, calls, answer } = coordinator()
    const breaker = openBreaker(clock)
    const changes = record(breaker)
    breaker.coordinateTrials(fake)
    clock.advance(1000)
    expect(breaker.tryAcquire()).toBeUndefined()
    // Another process closed it meanwhile.
    breaker.restore(
      { state: 'closed', failures: 0, openedAt: null, recoveryTimeMs: 1000, reopenCount: 0 },
      { notify: true, reason: 'remote' },
    )
    await answer(true)
    expect(calls).toEqual(['claim 5000', 'end'])
    expect(breaker.tryAcquire()?.trial).toBe(false)
    expect(transitions(changes)).toEqual(['open→half_open:recovery_time', 'half_open→closed:remote'])
  })

  test('disposing the coordination ends a round held and goes back to local trials', async () => {
    const clock = new ManualClock()
    const { fake, calls, answer } = coordinator()
    const breaker = openBreaker(clock, 2)
    const coordination = breaker.coordinateTrials(fake)
    clock.advance(1000)
    breaker.tryAcquire()
    await answer(true)
    breaker.tryAcquire()
    coordination.dispose()
    expect(calls.at(-1)).toBe('end')
    expect(breaker.tryAcquire()?.trial).toBe(true)
  })

  test('a coordinator that answers at once admits at once; a bad one is a TypeError', () => {
    const clock = new ManualClock()
    const breaker = openBreaker(clock)
    breaker.coordinateTrials({ claim: () => ({ granted: true, retryAfterMs: 0, extend: () => {}, end: () => {} }) })
    clock.advance(1000)
    expect(breaker.tryAcquire()?.trial).toBe(true)
    expect(() => breaker.coordinateTrials({} as TrialCoordinator)).toThrow(TypeError)
  })
})
