import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { AllAttemptsFailedError, RequestTimeoutError } from '../src/index'
import {
  disposeRouters,
  fails,
  hang,
  httpError,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  setup,
  watch,
} from './helpers'

afterEach(disposeRouters)

const networkError = () => Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' })

const group = (models: string[], echelon = '', maxRetries = 0) => `
[task_group.fallback]
max_attempts = 10
retry_delay = 0
[task_group.echelons.e1]
models = [${models.map((model) => `"mock:${model}"`).join(', ')}]
max_retries = ${maxRetries}
${echelon}
`

describe('Deadlines and the attempt budget', { timeout: 5000 }, () => {
  test("the echelon's timeout bounds each attempt: the model's abortSignal aborts, the attempt counts as a timeout, the request falls over", async () => {
    const config = await setup({ groups: { g: group(['a', 'b'], 'timeout = 1') } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: hang }, { clock })
    const start = clock.now()
    const request = watch(routerFor(config, mock, { clock }).generate('g', prompt))
    await clock.advance(999)
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(false)
    await clock.advance(1)
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
    expect(request.settled).toBe(true)
    const result = request.value!
    expect(result.routing.instance).toBe('g.e1/mock:b')
    expect(result.routing.attempts[0]).toMatchObject({ error: { kind: 'timeout' }, durationMs: 1000 })
    expect(mock.calls[1]!.at! - start).toBe(1000)
  })

  test('the overall timeoutMs bounds everything: past it, RequestTimeoutError, and the call in flight is aborted', async () => {
    const config = await setup({ groups: { g: group(['a', 'b'], 'timeout = 30') } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: hang, b: hang })
    const failure = rejection(routerFor(config, mock, { clock }).generate('g', prompt, { timeoutMs: 500 }))
    await clock.advance(500)
    const error = await failure
    expect(RequestTimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'request_timeout', isRetryable: true, timeoutMs: 500 })
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
    expect(error.attempts).toHaveLength(1)
  })

  test('the overall deadline bounds retries and their backoff', async () => {
    const config = await setup({ groups: { g: group(['a'], '', 10) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(networkError()) }, { clock })
    const start = clock.now()
    const failure = rejection(
      routerFor(config, mock, { clock, random: () => 1 }).generate('g', prompt, { timeoutMs: 1000 }),
    )
    await clock.advance(1000)
    const error = await failure
    // Backoff 250, then 500: the next (1000) would end past the deadline, so the request stops.
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 250, 750])
    expect(AllAttemptsFailedError.isInstance(error) || RequestTimeoutError.isInstance(error)).toBe(true)
  })

  test("the caller's AbortSignal cancels the call in flight and the request rejects with the signal's reason", async () => {
    const config = await setup({ groups: { g: group(['a', 'b']) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: hang })
    const controller = new AbortController()
    const failure = rejection(routerFor(config, mock, { clock }).generate('g', prompt, { signal: controller.signal }))
    await clock.advance(10)
    const reason = new Error('the user went away')
    controller.abort(reason)
    expect(await failure).toBe(reason)
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
    expect(modelsCalled(mock.calls)).toEqual(['a'])
  })

  test("the caller's AbortSignal also ends a wait between retries", async () => {
    const config = await setup({ groups: { g: group(['a', 'b'], '', 3) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(networkError()) })
    const controller = new AbortController()
    const failure = rejection(
      routerFor(config, mock, { clock, random: () => 1 }).generate('g', prompt, { signal: controller.signal }),
    )
    await clock.advance(100)
    controller.abort('stop')
    expect(await failure).toBe('stop')
    await clock.advance(10_000)
    expect(modelsCalled(mock.calls)).toEqual(['a'])
  })

  test('an already aborted signal: no upstream call at all', async () => {
    const config = await setup({ groups: { g: group(['a']) } })
    const mock = mockProvider()
    const reason = new Error('too late')
    expect(await rejection(routerFor(config, mock).generate('g', prompt, { signal: AbortSignal.abort(reason) }))).toBe(
      reason,
    )
    expect(mock.calls).toHaveLength(0)
  })

  test('the attempt budget caps upstream calls across retries, instances and pools (5 retries × 3 instances × 2 pools, budget 4 → 4 calls)', async () => {
    const groupOf = (models: string[]) => group(models, '', 5)
    const config = await setup({
      groups: { g: groupOf(['a', 'b', 'c']), h: groupOf(['x', 'y', 'z']) },
      pools: {
        p1: 'task_groups = ["g"]\n[pool.fallback]\nstrategy = "pool_fallback"\nmax_instance_attempts = 3\nfallback_pools = ["p2"]\n[pool.health_check]\nfailure_threshold = 100',
        p2: 'task_groups = ["h"]\n[pool.fallback]\nmax_instance_attempts = 3\n[pool.health_check]\nfailure_threshold = 100',
      },
    })
    const breakers = '[task_group.circuit_breaker]\nfailure_threshold = 100\n'
    const lenient = await setup({
      groups: { g: breakers + groupOf(['a', 'b', 'c']), h: breakers + groupOf(['x', 'y', 'z']) },
      pools: {
        p1: 'task_groups = ["g"]\n[pool.fallback]\nstrategy = "pool_fallback"\nmax_instance_attempts = 3\nfallback_pools = ["p2"]\n[pool.health_check]\nfailure_threshold = 100',
        p2: 'task_groups = ["h"]\n[pool.fallback]\nmax_instance_attempts = 3\n[pool.health_check]\nfailure_threshold = 100',
      },
    })
    const mock = mockProvider(
      Object.fromEntries(['a', 'b', 'c', 'x', 'y', 'z'].map((model) => [model, fails(networkError())])),
    )
    const error = await rejection(routerFor(config, mock, { random: () => 0, attemptBudget: 4 }).generate('p1', prompt))
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(mock.calls).toHaveLength(4)
    expect(error.attempts).toHaveLength(4)
    // The default cap is every call the rules allow: 3 instances × (1 + 5 retries) in each of the 2 pools.
    mock.calls.length = 0
    const router = routerFor(lenient, mock, { random: () => 0, retry: { baseDelayMs: 0 } })
    expect(router.entry('p1').maxCalls).toBe(36)
    await rejection(router.generate('p1', prompt, { timeoutMs: 60_000 }))
    expect(mock.calls).toHaveLength(36)
  })
})
