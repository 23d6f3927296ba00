/** execute() and the permit API: trial timeouts, caller aborts, uncounted failures, permits. */
import { BrokenCircuitError, CircuitBreaker, TrialTimeoutError } from '@llmpool/breaker'
import { describe, expect, test, vi } from 'vitest'
import { badRequest, deferred, flush, ManualClock, record, serverError, transitions } from './helpers'

async function tripped(options: { trialTimeoutMs?: number; halfOpenRequests?: number } = {}) {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock, ...options })
  await breaker.execute(() => Promise.reject(serverError())).catch(() => undefined)
  return { clock, breaker }
}

describe('trial timeout', () => {
  test('bounds a hanging trial: it counts as failed, its signal aborts, execute rejects', async () => {
    const { clock, breaker } = await tripped({ trialTimeoutMs: 250 })
    const changes = record(breaker)
    clock.advance(1000)
    let seen: AbortSignal | undefined
    const hanging = breaker.execute((signal) => {
      seen = signal
      return new Promise<never>(() => {}) // never settles, ignores its signal
    })
    const outcome = hanging.catch((error: unknown) => error)
    clock.advance(249)
    await flush()
    expect(breaker.state).toBe('half_open')
    expect(seen?.aborted).toBe(false)
    clock.advance(1)
    const error = await outcome
    expect(TrialTimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'trial_timeout', timeoutMs: 250 })
    expect(seen?.aborted).toBe(true)
    expect(seen?.reason).toBe(error)
    expect(breaker.state).toBe('open')
    expect(transitions(changes)).toEqual(['open→half_open:recovery_time', 'half_open→open:trial_timeout'])
  })

  test('defaults to the recovery time', async () => {
    const { clock, breaker } = await tripped()
    clock.advance(1000)
    const outcome = breaker.execute(() => new Promise<never>(() => {})).catch((error: unknown) => error)
    clock.advance(999)
    expect(breaker.state).toBe('half_open')
    clock.advance(1)
    expect(TrialTimeoutError.isInstance(await outcome)).toBe(true)
  })

  test('also bounds a trial admitted with tryAcquire(): its signal aborts and the breaker opens', async () => {
    const { clock, breaker } = await tripped({ trialTimeoutMs: 100 })
    clock.advance(1000)
    const permit = breaker.tryAcquire()!
    clock.advance(100)
    expect(permit.signal.aborted).toBe(true)
    expect(TrialTimeoutError.isInstance(permit.signal.reason)).toBe(true)
    expect(breaker.state).toBe('open')
    permit.success() // too late: ignored
    expect(breaker.state).toBe('open')
  })

  test('closed calls have no trial timeout: their permit signal never aborts', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 10, clock })
    const permit = breaker.tryAcquire()!
    expect(permit.trial).toBe(false)
    clock.advance(1_000_000)
    expect(permit.signal.aborted).toBe(false)
    expect(clock.pendingTimers).toBe(0)
  })
})

describe('caller abort', () => {
  test('does not count, aborts fn’s signal, and rejects with the abort reason at once', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    const controller = new AbortController()
    let seen: AbortSignal | undefined
    const call = breaker.execute((signal) => {
      seen = signal
      return new Promise<never>(() => {}) // ignores the signal: execute must not wait for it
    }, controller.signal)
    const reason = new Error('user went away')
    controller.abort(reason)
    await expect(call).rejects.toBe(reason)
    expect(seen?.aborted).toBe(true)
    expect(seen?.reason).toBe(reason)
    expect(breaker.state).toBe('closed')
  })

  test('an fn that rejects after the abort, with any error, does not count', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    const controller = new AbortController()
    const call = breaker.execute(async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      throw serverError('fetch aborted, reported as 500 by a confused SDK')
    }, controller.signal)
    controller.abort()
    await expect(call).rejects.toMatchObject({ name: 'AbortError' })
    await flush()
    expect(breaker.state).toBe('closed')
  })

  test('an already aborted signal: fn is not called and nothing is admitted', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    let called = false
    const reason = new Error('gone')
    await expect(
      breaker.execute(async () => {
        called = true
      }, AbortSignal.abort(reason)),
    ).rejects.toBe(reason)
    expect(called).toBe(false)
  })

  test('in half-open, frees the trial slot without deciding', async () => {
    const { clock, breaker } = await tripped()
    clock.advance(1000)
    const controller = new AbortController()
    const first = breaker
      .execute(() => new Promise<never>(() => {}), controller.signal)
      .catch((error: unknown) => error)
    await expect(breaker.execute(async () => 'x')).rejects.toMatchObject({ code: 'circuit_half_open_full' })
    controller.abort()
    await first
    expect(breaker.state).toBe('half_open')
    await expect(breaker.execute(async () => 'x')).resolves.toBe('x')
    expect(breaker.state).toBe('closed')
  })
})

describe('which failures count', () => {
  test('an uncounted failure neither trips nor resets the consecutive count', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, recoveryTimeMs: 1000, clock: new ManualClock() })
    const run = (error: Error) => breaker.execute(() => Promise.reject(error)).catch(() => undefined)
    await run(serverError())
    await run(serverError())
    for (let i = 0; i < 10; i++) await run(badRequest())
    expect(breaker.toJSON()).toMatchObject({ state: 'closed', failures: 2 })
    await run(serverError())
    expect(breaker.state).toBe('open')
  })

  test('an uncounted trial failure frees the slot without deciding', async () => {
    const { clock, breaker } = await tripped()
    clock.advance(1000)
    await expect(breaker.execute(() => Promise.reject(badRequest()))).rejects.toThrow('bad request')
    expect(breaker.state).toBe('half_open')
    expect(breaker.tryAcquire()).toBeDefined()
  })

  test('a custom isFailure decides', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      recoveryTimeMs: 1000,
      clock: new ManualClock(),
      isFailure: (error) => error instanceof Error && error.message === 'counts',
    })
    await breaker.execute(() => Promise.reject(serverError())).catch(() => undefined)
    expect(breaker.state).toBe('closed')
    await breaker.execute(() => Promise.reject(new Error('counts'))).catch(() => undefined)
    expect(breaker.state).toBe('open')
  })

  test('an isFailure that throws counts the failure; its error surfaces in a microtask, execute still settles', async () => {
    const later: Array<() => void> = []
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => void later.push(callback))
    try {
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeMs: 1000,
        clock: new ManualClock(),
        isFailure: () => {
          throw new Error('predicate bug')
        },
      })
      await expect(breaker.execute(() => Promise.reject(badRequest()))).rejects.toThrow('bad request')
      expect(breaker.state).toBe('open')
      expect(later).toHaveLength(1)
      expect(later[0]).toThrow('predicate bug')
    } finally {
      spy.mockRestore()
    }
  })

  test('a listener that throws does not stop the others; its error surfaces in a microtask', () => {
    const later: Array<() => void> = []
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => void later.push(callback))
    try {
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
      breaker.onStateChange(() => {
        throw new Error('listener bug')
      })
      const changes = record(breaker)
      breaker.tryAcquire()!.failure(serverError())
      expect(transitions(changes)).toEqual(['closed→open:failure_threshold'])
      expect(later).toHaveLength(1)
      expect(later[0]).toThrow('listener bug')
    } finally {
      spy.mockRestore()
    }
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000 })
    expect(() => breaker.onStateChange('nope' as never)).toThrow(TypeError)
  })

  test('fn that throws synchronously is a failure like any other', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    await expect(
      breaker.execute(() => {
        throw serverError('sync')
      }),
    ).rejects.toThrow('sync')
    expect(breaker.state).toBe('open')
  })
})

describe('tryAcquire()', () => {
  test('permits take the first outcome only; later calls are ignored', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeMs: 1000, clock: new ManualClock() })
    const permit = breaker.tryAcquire()!
    permit.failure(serverError())
    permit.failure(serverError())
    permit.release()
    permit.success()
    expect(breaker.toJSON()).toMatchObject({ state: 'closed', failures: 1 })
    breaker.tryAcquire()!.failure(serverError())
    expect(breaker.state).toBe('open')
    expect(breaker.tryAcquire()).toBeUndefined()
  })

  test('a permit of a trial released many times frees one slot', async () => {
    const { clock, breaker } = await tripped({ halfOpenRequests: 2 })
    clock.advance(1000)
    const a = breaker.tryAcquire()!
    const b = breaker.tryAcquire()!
    expect(breaker.tryAcquire()).toBeUndefined()
    a.release()
    a.release()
    const c = breaker.tryAcquire()!
    expect(c.trial).toBe(true)
    expect(breaker.tryAcquire()).toBeUndefined()
    b.success()
    c.success()
    expect(breaker.state).toBe('closed')
  })

  test('execute refuses with BrokenCircuitError carrying the breaker name and retryAfterMs', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ name: 'openai-main', failureThreshold: 1, recoveryTimeMs: 1000, clock })
    breaker.tryAcquire()!.failure(serverError())
    clock.advance(400)
    const error = await breaker.execute(async () => 'x').catch((thrown: unknown) => thrown)
    expect(BrokenCircuitError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'circuit_open', retryAfterMs: 600, breakerName: 'openai-main' })
    expect((error as Error).message).toContain('openai-main')
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: 'circuit_open', retryAfterMs: 600 })
    expect(breaker.retryAfterMs).toBe(600)
  })
})
