/** Recovery backoff, toJSON()/restore(), initialState, dispose(). */
import { type BreakerSnapshot, CircuitBreaker } from '@llmpool/breaker'
import { describe, expect, test } from 'vitest'
import { ManualClock, record, serverError, transitions } from './helpers'

describe('recovery backoff', () => {
  test('grows by factor on each re-opening, caps at maxMs, resets on close', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeMs: 1000,
      recoveryBackoff: { factor: 2, maxMs: 5000 },
      clock,
    })
    const reopenAfter = (ms: number) => {
      clock.advance(ms - 1)
      expect(breaker.state).toBe('open')
      clock.advance(1)
      expect(breaker.state).toBe('half_open')
    }
    breaker.tryAcquire()!.failure(serverError())
    const seen: number[] = []
    for (const expected of [1000, 2000, 4000, 5000, 5000]) {
      expect(breaker.toJSON().recoveryTimeMs).toBe(expected)
      seen.push(breaker.retryAfterMs)
      reopenAfter(expected)
      breaker.tryAcquire()!.failure(serverError())
    }
    expect(seen).toEqual([1000, 2000, 4000, 5000, 5000])
    expect(breaker.toJSON()).toMatchObject({ reopenCount: 5, recoveryTimeMs: 5000 })
    clock.advance(5000)
    breaker.tryAcquire()!.success()
    expect(breaker.toJSON()).toMatchObject({ state: 'closed', reopenCount: 0, recoveryTimeMs: 1000 })
    breaker.tryAcquire()!.failure(serverError())
    expect(breaker.retryAfterMs).toBe(1000)
  })

  test('without backoff the recovery time stays the same', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    breaker.tryAcquire()!.failure(serverError())
    for (let i = 0; i < 3; i++) {
      clock.advance(1000)
      breaker.tryAcquire()!.failure(serverError())
      expect(breaker.toJSON()).toMatchObject({ recoveryTimeMs: 1000, reopenCount: i + 1 })
    }
  })
})

describe('toJSON() and restore()', () => {
  test('round-trips through JSON into a new breaker, which goes on where the first was', async () => {
    const clock = new ManualClock()
    const options = { failureThreshold: 3, recoveryTimeMs: 1000, recoveryBackoff: { factor: 3, maxMs: 60_000 }, clock }
    const first = new CircuitBreaker(options)
    first.tryAcquire()!.failure(serverError())
    first.tryAcquire()!.failure(serverError())
    const closedSnapshot = JSON.parse(JSON.stringify(first)) as BreakerSnapshot
    expect(closedSnapshot).toEqual({
      state: 'closed',
      failures: 2,
      openedAt: null,
      recoveryTimeMs: 1000,
      reopenCount: 0,
    })
    const second = new CircuitBreaker({ ...options, initialState: closedSnapshot })
    expect(second.toJSON()).toEqual(closedSnapshot)
    second.tryAcquire()!.failure(serverError())
    expect(second.state).toBe('open')

    first.tryAcquire()!.failure(serverError())
    clock.advance(1000)
    first.tryAcquire()!.failure(serverError()) // re-open: recovery 3000
    clock.advance(1200)
    const openSnapshot = JSON.parse(JSON.stringify(first.toJSON())) as BreakerSnapshot
    expect(openSnapshot).toEqual({
      state: 'open',
      failures: 0,
      openedAt: clock.now() - 1200,
      recoveryTimeMs: 3000,
      reopenCount: 1,
    })
    const third = new CircuitBreaker(options)
    third.restore(openSnapshot)
    expect(third.toJSON()).toEqual(openSnapshot)
    expect(third.retryAfterMs).toBe(1800)
    clock.advance(1800)
    expect(third.state).toBe('half_open')
    third.tryAcquire()!.failure(serverError())
    expect(third.toJSON().recoveryTimeMs).toBe(9000) // the backoff went on from reopenCount 1
  })

  test('restore() is silent, and makes in-flight calls stale', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    const changes = record(breaker)
    const inFlight = breaker.tryAcquire()!
    breaker.restore({ state: 'open', failures: 0, openedAt: clock.now(), recoveryTimeMs: 1000, reopenCount: 0 })
    breaker.restore({ state: 'closed', failures: 0, openedAt: null, recoveryTimeMs: 1000, reopenCount: 0 })
    inFlight.failure(serverError())
    expect(breaker.state).toBe('closed')
    expect(changes).toEqual([])
  })

  test('restore(snapshot, { notify: true }) emits one change when the state differs, none when it does not', () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    const changes = record(breaker)
    const open: BreakerSnapshot = {
      state: 'open',
      failures: 0,
      openedAt: clock.now(),
      recoveryTimeMs: 1000,
      reopenCount: 0,
    }
    breaker.restore(open, { notify: true })
    breaker.restore(open, { notify: true })
    breaker.restore({ ...open, state: 'closed', openedAt: null }, { notify: true, reason: 'remote' })
    expect(transitions(changes)).toEqual(['closed→open:restored', 'open→closed:remote'])
  })

  test('an open snapshot whose recovery time has passed becomes half-open when next read, heard then', () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeMs: 1000,
      clock,
      initialState: { state: 'open', failures: 0, openedAt: clock.now() - 5000, recoveryTimeMs: 1000, reopenCount: 0 },
    })
    const changes = record(breaker)
    expect(breaker.state).toBe('half_open')
    expect(transitions(changes)).toEqual(['open→half_open:recovery_time'])
  })

  test('a bad snapshot throws a RangeError naming the field', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    const good: BreakerSnapshot = { state: 'open', failures: 0, openedAt: 1, recoveryTimeMs: 1000, reopenCount: 0 }
    const cases: Array<[Partial<Record<keyof BreakerSnapshot, unknown>>, string]> = [
      [{ state: 'ajar' }, 'snapshot.state'],
      [{ failures: -1 }, 'snapshot.failures'],
      [{ openedAt: null }, 'snapshot.openedAt'],
      [{ recoveryTimeMs: 0 }, 'snapshot.recoveryTimeMs'],
      [{ reopenCount: 1.5 }, 'snapshot.reopenCount'],
    ]
    for (const [change, field] of cases) {
      expect(() => breaker.restore({ ...good, ...change } as BreakerSnapshot)).toThrow(RangeError)
      expect(() => breaker.restore({ ...good, ...change } as BreakerSnapshot)).toThrow(field)
    }
    expect(() => breaker.restore(null as unknown as BreakerSnapshot)).toThrow(RangeError)
    expect(breaker.state).toBe('closed')
  })
})

describe('dispose()', () => {
  test('cancels the half-open timer; the state is still computed when read', () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    breaker.tryAcquire()!.failure(serverError())
    expect(clock.pendingTimers).toBe(1)
    breaker.dispose()
    expect(clock.pendingTimers).toBe(0)
    clock.advance(1000)
    expect(breaker.state).toBe('half_open')
  })
})
