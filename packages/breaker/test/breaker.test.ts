/** The test list of issue 3, bullet by bullet, through the public API with a manual clock. */
import { BrokenCircuitError, CircuitBreaker } from '@llmpool/breaker'
import { describe, expect, test } from 'vitest'
import { deferred, flush, ManualClock, record, serverError, transitions } from './helpers'

const fail = () => Promise.reject(serverError())
const succeed = () => Promise.resolve('ok')

async function failTimes(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await expect(breaker.execute(fail)).rejects.toThrow('upstream failed')
}

describe('n − 1 failures stay closed, n open it', () => {
  for (const threshold of [1, 2, 5, 10]) {
    test(`failureThreshold ${threshold}`, async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: threshold,
        recoveryTimeMs: 1000,
        clock: new ManualClock(),
      })
      await failTimes(breaker, threshold - 1)
      expect(breaker.state).toBe('closed')
      await expect(breaker.execute(succeed)).resolves.toBe('ok')
      // The success reset the count: n − 1 more still do not open it.
      await failTimes(breaker, threshold - 1)
      expect(breaker.state).toBe('closed')
      await failTimes(breaker, 1)
      expect(breaker.state).toBe('open')
      let called = false
      const refused = breaker.execute(async () => {
        called = true
      })
      await expect(refused).rejects.toSatisfy(BrokenCircuitError.isInstance)
      expect(called).toBe(false)
    })
  }
})

describe('recovery time', () => {
  test('at recovery_time − 1 ms still open, at recovery_time trials begin', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 5000, clock })
    await failTimes(breaker, 1)
    clock.advance(4999)
    expect(breaker.state).toBe('open')
    const refusal = await breaker.execute(succeed).catch((error: unknown) => error)
    expect(BrokenCircuitError.isInstance(refusal)).toBe(true)
    expect(refusal).toMatchObject({ code: 'circuit_open', retryAfterMs: 1 })
    expect(breaker.tryAcquire()).toBeUndefined()
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
    const trial = breaker.tryAcquire()
    expect(trial?.trial).toBe(true)
    trial?.success()
    expect(breaker.state).toBe('closed')
  })

  test('the transition is computed from the clock when nobody reads: no timer needed to see it', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 100, clock })
    const changes = record(breaker)
    await failTimes(breaker, 1)
    // The breaker's own timer tells listeners at the due time, without traffic.
    clock.advance(100)
    expect(transitions(changes)).toEqual(['closed→open:failure_threshold', 'open→half_open:recovery_time'])
    expect(changes[1]?.at).toBe(changes[0]!.at + 100)
  })
})

describe('half-open trials', () => {
  for (const halfOpenRequests of [1, 3]) {
    test(`never more than ${halfOpenRequests} trial(s) at once, with concurrent executions`, async () => {
      const clock = new ManualClock()
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, halfOpenRequests, clock })
      const changes = record(breaker)
      await failTimes(breaker, 1)
      clock.advance(1000)

      let running = 0
      let most = 0
      const gates: Array<ReturnType<typeof deferred<string>>> = []
      const trial = () => {
        running += 1
        most = Math.max(most, running)
        const gate = deferred<string>()
        gates.push(gate)
        return gate.promise.finally(() => {
          running -= 1
        })
      }
      const calls = Array.from({ length: 20 }, () =>
        breaker.execute(trial).then(
          (value) => value,
          (error: unknown) => error,
        ),
      )
      await flush()
      expect(running).toBe(halfOpenRequests)
      // Releasing trials one by one: each success frees no slot for another trial (the successes are what closes).
      for (const gate of gates.slice(0, halfOpenRequests - 1)) gate.resolve('ok')
      await flush()
      expect(breaker.state).toBe('half_open')
      const more = Array.from({ length: 5 }, () =>
        breaker.execute(trial).then(
          (value) => value,
          (error: unknown) => error,
        ),
      )
      await flush()
      expect(most).toBe(halfOpenRequests)
      gates[halfOpenRequests - 1]!.resolve('ok')
      const results = await Promise.all([...calls, ...more])
      expect(results.filter((result) => result === 'ok')).toHaveLength(halfOpenRequests)
      const refused = results.filter((result) => result !== 'ok')
      expect(refused).toHaveLength(25 - halfOpenRequests)
      for (const error of refused) expect(error).toMatchObject({ code: 'circuit_half_open_full' })
      expect(breaker.state).toBe('closed')
      expect(transitions(changes)).toEqual([
        'closed→open:failure_threshold',
        'open→half_open:recovery_time',
        'half_open→closed:trials_succeeded',
      ])
    })
  }

  test('one failing trial opens it again, whatever the other trials do', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, halfOpenRequests: 2, clock })
    await failTimes(breaker, 1)
    clock.advance(1000)
    const first = breaker.tryAcquire()!
    const second = breaker.tryAcquire()!
    first.failure(serverError())
    expect(breaker.state).toBe('open')
    second.success() // stale: the state it was admitted in is over
    expect(breaker.state).toBe('open')
  })

  test('the refusal while half-open says when the earliest trial times out', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, trialTimeoutMs: 300, clock })
    await failTimes(breaker, 1)
    clock.advance(1000)
    expect(breaker.tryAcquire()).toBeDefined()
    clock.advance(100)
    const refusal = await breaker.execute(succeed).catch((error: unknown) => error)
    expect(refusal).toMatchObject({ code: 'circuit_half_open_full', retryAfterMs: 200 })
  })
})

describe('each transition emits exactly once', () => {
  test('a whole cycle, read often, records each transition once and in order', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeMs: 1000, halfOpenRequests: 2, clock })
    const changes = record(breaker)
    const readOften = () => {
      for (let i = 0; i < 3; i++) void [breaker.state, breaker.retryAfterMs, breaker.toJSON()]
    }
    await failTimes(breaker, 2)
    readOften()
    clock.advance(999)
    readOften()
    clock.advance(1)
    readOften()
    await expect(breaker.execute(fail)).rejects.toThrow() // trial fails
    readOften()
    clock.advance(1000)
    readOften()
    await breaker.execute(succeed)
    readOften()
    await breaker.execute(succeed)
    readOften()
    await failTimes(breaker, 2)
    readOften()
    expect(transitions(changes)).toEqual([
      'closed→open:failure_threshold',
      'open→half_open:recovery_time',
      'half_open→open:trial_failed',
      'open→half_open:recovery_time',
      'half_open→closed:trials_succeeded',
      'closed→open:failure_threshold',
    ])
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.from).toBe(changes[i - 1]!.to)
  })

  test('observed lazily (no timer ran), open → half_open is still heard once, with its due time', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    const changes = record(breaker)
    await failTimes(breaker, 1)
    const openedAt = clock.now()
    breaker.dispose() // drops listeners and the timer...
    const again = record(breaker) // ...so listen again; only lazy observation is left
    clock.advance(5000)
    expect(again).toEqual([])
    expect(breaker.state).toBe('half_open')
    expect(breaker.state).toBe('half_open')
    expect(transitions(again)).toEqual(['open→half_open:recovery_time'])
    expect(again[0]?.at).toBe(openedAt + 1000)
    expect(transitions(changes)).toEqual(['closed→open:failure_threshold'])
  })

  test('a disposed listener hears nothing more', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock: new ManualClock() })
    const heard: string[] = []
    const subscription = breaker.onStateChange((change) => heard.push(change.to))
    subscription.dispose()
    subscription.dispose()
    await failTimes(breaker, 1)
    expect(heard).toEqual([])
  })

  test('a listener that causes a transition does not reorder what the others hear', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    breaker.onStateChange((change) => {
      if (change.to === 'half_open') breaker.tryAcquire()?.success()
    })
    const changes = record(breaker)
    await failTimes(breaker, 1)
    clock.advance(1000)
    expect(transitions(changes)).toEqual([
      'closed→open:failure_threshold',
      'open→half_open:recovery_time',
      'half_open→closed:trials_succeeded',
    ])
  })
})

describe('simultaneous failures never leave it stuck open', () => {
  test('50 concurrent failing calls: one opening, then recovery closes it', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 5, recoveryTimeMs: 1000, clock })
    const changes = record(breaker)
    const gates = Array.from({ length: 50 }, () => deferred<string>())
    const calls = gates.map((gate) => breaker.execute(() => gate.promise).catch((error: unknown) => error))
    for (const gate of gates) gate.reject(serverError())
    await Promise.all(calls)
    expect(transitions(changes)).toEqual(['closed→open:failure_threshold'])
    expect(breaker.toJSON()).toMatchObject({ state: 'open', failures: 0, reopenCount: 0 })

    clock.advance(1000)
    await expect(breaker.execute(succeed)).resolves.toBe('ok')
    expect(breaker.state).toBe('closed')
    await expect(breaker.execute(succeed)).resolves.toBe('ok')
    expect(transitions(changes)).toEqual([
      'closed→open:failure_threshold',
      'open→half_open:recovery_time',
      'half_open→closed:trials_succeeded',
    ])
  })

  test('late outcomes of calls admitted before the opening are ignored', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1000, clock })
    const slow = breaker.tryAcquire()!
    const slowFailure = breaker.tryAcquire()!
    await failTimes(breaker, 1)
    slow.success() // does not close an open breaker
    expect(breaker.state).toBe('open')
    clock.advance(1000)
    await breaker.execute(succeed)
    slowFailure.failure(serverError()) // from the old closed period: does not open the new one
    expect(breaker.state).toBe('closed')
  })
})
