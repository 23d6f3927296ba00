/** The worked timeline of docs/breaker.md, step by step: the documentation cannot drift from the behaviour. */
import { CircuitBreaker } from '@llmpool/breaker'
import { expect, test } from 'vitest'
import { badRequest, ManualClock, record, serverError, transitions } from './helpers'

const networkError = () =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })
const timeoutError = () => Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })

test('docs/breaker.md worked timeline', async () => {
  const clock = new ManualClock(0)
  const at = (seconds: number) => clock.advance(Math.round(seconds * 1000) - clock.now())
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    recoveryTimeMs: 30_000,
    halfOpenRequests: 2,
    recoveryBackoff: { factor: 2, maxMs: 120_000 },
    clock,
  })
  const changes = record(breaker)

  breaker.tryAcquire()!.failure(serverError()) // 0.0 A
  expect(breaker.toJSON()).toMatchObject({ state: 'closed', failures: 1 })
  at(0.1)
  const e = breaker.tryAcquire()!
  at(0.2)
  breaker.tryAcquire()!.failure(timeoutError()) // B
  at(0.3)
  breaker.tryAcquire()!.failure(badRequest()) // C
  expect(breaker.toJSON()).toMatchObject({ state: 'closed', failures: 2 })
  at(0.5)
  breaker.tryAcquire()!.failure(networkError()) // D
  expect(breaker.toJSON()).toMatchObject({ state: 'open', openedAt: 500, recoveryTimeMs: 30_000 })
  at(0.6)
  e.failure(serverError())
  expect(breaker.toJSON()).toMatchObject({ state: 'open', openedAt: 500 })
  at(10)
  await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({ code: 'circuit_open', retryAfterMs: 20_500 })
  at(30.499)
  await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({ code: 'circuit_open', retryAfterMs: 1 })
  at(30.5)
  expect(breaker.state).toBe('half_open')
  at(31)
  const t1 = breaker.tryAcquire()!
  at(31.1)
  const t2 = breaker.tryAcquire()!
  at(31.2)
  await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({
    code: 'circuit_half_open_full',
    retryAfterMs: 29_800,
  })
  at(32)
  t1.success()
  expect(breaker.tryAcquire()).toBeUndefined()
  at(33)
  t2.failure(serverError())
  expect(breaker.toJSON()).toMatchObject({ state: 'open', reopenCount: 1, recoveryTimeMs: 60_000 })
  at(93)
  expect(breaker.state).toBe('half_open')
  at(93.2)
  const controller = new AbortController()
  const t3 = breaker.execute(() => new Promise<never>(() => {}), controller.signal).catch(() => 'aborted')
  at(93.5)
  controller.abort()
  expect(await t3).toBe('aborted')
  at(94)
  await breaker.execute(async () => 'T4')
  expect(breaker.state).toBe('half_open')
  at(95)
  await breaker.execute(async () => 'T5')
  expect(breaker.toJSON()).toMatchObject({ state: 'closed', reopenCount: 0, recoveryTimeMs: 30_000 })

  expect(changes.map((change) => [`${change.from}→${change.to}:${change.reason}`, change.at / 1000])).toEqual([
    ['closed→open:failure_threshold', 0.5],
    ['open→half_open:recovery_time', 30.5],
    ['half_open→open:trial_failed', 33],
    ['open→half_open:recovery_time', 93],
    ['half_open→closed:trials_succeeded', 95],
  ])
  expect(transitions(changes)).toHaveLength(5)
})
