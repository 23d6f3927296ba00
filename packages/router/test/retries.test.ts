import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { RequestRejectedError, type RouterEvent } from '../src/index'
import { disposeRouters, fails, httpError, mockProvider, modelsCalled, prompt, rejection, routerFor, sequence, setup, textResult, watch } from './helpers'

afterEach(disposeRouters)

/** g: echelon e1 with a and b, `max_retries` each; b answers unless told otherwise. */
const twoInstances = (maxRetries: number, extra = '', top = '') => `
${top}
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = ${maxRetries}
${extra}
`

const networkError = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })
const timeoutError = () => Object.assign(new Error('The operation timed out'), { name: 'TimeoutError' })

describe('Retries on one instance', { timeout: 5000 }, () => {
  test.each([
    ['server_error', () => httpError(500)],
    ['server_error', () => httpError(503)],
    ['overloaded', () => httpError(529, 'Overloaded')],
    ['rate_limit', () => httpError(429, 'Rate limit reached for requests per min')],
    ['network_error', networkError],
    ['timeout', timeoutError],
  ])('%s is retried on the same instance up to max_retries, then fails over', async (kind, error) => {
    const config = await setup({ groups: { g: twoInstances(2) } })
    const mock = mockProvider({ a: fails(error()) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'a', 'b'])
    expect(result.routing.attempts.map((attempt) => [attempt.instance, attempt.retry, attempt.error?.kind])).toEqual([
      ['g.e1/mock:a', 0, kind],
      ['g.e1/mock:a', 1, kind],
      ['g.e1/mock:a', 2, kind],
      ['g.e1/mock:b', 0, undefined],
    ])
  })

  test('the retry waits an exponential backoff with full jitter: with random() = 1 exactly the ceiling, base × factor^(retry−1)', async () => {
    // A pool with a lenient health_check, so that three failures in a row do not mark a unhealthy.
    const config = await setup({ groups: { g: twoInstances(3) }, pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 10' } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(httpError(500), httpError(500), httpError(500), textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock, random: () => 1, retry: { baseDelayMs: 1000, backoffFactor: 3, maxRetryDelayMs: 5000 } })
    const start = clock.now()
    const request = watch(router.generate('g', prompt))
    await clock.advance(10_000)
    expect(request.settled).toBe(true)
    // 1000, 3000, then 9000 capped at max_retry_delay (5000).
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 1000, 4000, 9000])
  })

  test('the retry happens only after the jittered delay (default policy: 250 ms, factor 2)', async () => {
    const config = await setup({ groups: { g: twoInstances(2) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(httpError(503), httpError(503), textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock, random: () => 0.5 })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const request = watch(router.generate('g', prompt))
    await clock.advance(124)
    expect(mock.calls).toHaveLength(1)
    await clock.advance(1)
    expect(mock.calls).toHaveLength(2)
    await clock.advance(249)
    expect(mock.calls).toHaveLength(2)
    await clock.advance(1)
    expect(mock.calls).toHaveLength(3)
    expect(request.settled).toBe(true)
    expect(events.filter((event) => event.type === 'retry').map((event) => (event as { delayMs: number }).delayMs)).toEqual([125, 250])
  })

  test.each([
    ['retry-after-ms', '3000', 3000],
    ['retry-after', '2', 2000],
    ['retry-after', '0.5', 500],
  ])("the upstream's %s: %s is honoured: the retry waits at least that", async (header, value, waitMs) => {
    const config = await setup({ groups: { g: twoInstances(1) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(httpError(429, 'Rate limit reached', { [header]: value }), textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock, random: () => 0 })
    const request = watch(router.generate('g', prompt))
    await clock.advance(waitMs - 1)
    expect(mock.calls).toHaveLength(1)
    await clock.advance(1)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a'])
    expect(request.settled).toBe(true)
  })

  test('an upstream asking for a longer pause than max_retry_delay is not waited for: the request moves to another instance', async () => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(httpError(429, 'Rate limit reached', { 'retry-after': '30' })) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })

  test('a retry that would end past the deadline is not waited for: the request moves on', async () => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(httpError(429, 'Rate limit reached', { 'retry-after': '5' })) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt, { timeoutMs: 3000 })
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })

  test.each([
    ['auth', 401, 'Incorrect API key provided'],
    ['auth', 403, 'Forbidden'],
    ['not_found', 404, 'The model does not exist'],
    ['quota_exhausted', 429, 'You exceeded your current quota: insufficient_quota'],
  ])('%s (%i) is not retried on the same instance but failed over to another', async (kind, status, message) => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(httpError(status, message)) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.attempts[0]!.error).toMatchObject({ kind, statusCode: status })
  })

  test('an unknown failure is not retried on the same instance but failed over', async () => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(new Error('something odd')) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.attempts[0]!.error?.kind).toBe('unknown')
  })

  test.each([
    ['bad_request', httpError(400, 'Invalid parameter: messages')],
    ['bad_request', httpError(422, 'Unprocessable')],
    ['content_policy', httpError(400, 'This request was rejected by our content_filter')],
  ])('%s fails at once with RequestRejectedError, with no failover', async (kind, error) => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(error) })
    const rejected = await rejection(routerFor(config, mock, { random: () => 0 }).generate('g', prompt))
    expect(RequestRejectedError.isInstance(rejected)).toBe(true)
    expect(rejected).toMatchObject({ code: 'request_rejected', isRetryable: false, kind, statusCode: (error as Error & { statusCode: number }).statusCode })
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    expect(rejected.attempts).toHaveLength(1)
  })

  test("every retry passes through the instance's limits: with rpm_limit 1 it cannot retry within the window, and fails over", async () => {
    const config = await setup({ groups: { g: twoInstances(2, 'rpm_limit = 1') } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(httpError(503)) }, { clock })
    const request = watch(routerFor(config, mock, { clock, random: () => 1 }).generate('g', prompt))
    await clock.advance(1000)
    expect(request.settled).toBe(true)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect((request.value as { routing: { instance: string } }).routing.instance).toBe('g.e1/mock:b')
  })

  test("every retry passes through the instance's breaker: once it opens, the request fails over", async () => {
    const config = await setup({ groups: { g: twoInstances(5, '', '[task_group.circuit_breaker]\nfailure_threshold = 2') } })
    const mock = mockProvider({ a: fails(httpError(503)) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })

  test('a retry needs the instance still admitted: once passive health marks it unhealthy, the request fails over', async () => {
    const config = await setup({
      groups: { g: twoInstances(5) },
      pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 2\nrecovery_time = 60' },
    })
    const mock = mockProvider({ a: fails(httpError(503)) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })
})
