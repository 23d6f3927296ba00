import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { InvalidRequestError, LocalFailureError, RequestRejectedError, type RouterEvent } from '../src/index'
import {
  disposeRouters,
  fails,
  httpError,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  sequence,
  setup,
  textResult,
  watch,
} from './helpers'

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

/** g: echelon e1 with a alone. */
const oneInstance = (maxRetries: number, extra = '') => `
[task_group.fallback]
max_attempts = 1
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a"]
max_retries = ${maxRetries}
${extra}
`

const networkError = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })
const timeoutError = () => Object.assign(new Error('The operation timed out'), { name: 'TimeoutError' })
/** Every kind the routers below retry on the same instance. */
const ALL_RETRYABLE = { retryOn: ['timeout', 'rate_limit', 'network_error', 'server_error', 'overloaded'] } as const

describe('Retries on one instance (echelon max_retries)', { timeout: 5000 }, () => {
  test.each([
    ['server_error', () => httpError(500)],
    ['server_error', () => httpError(503)],
    ['network_error', networkError],
  ])('%s is retried on the same instance up to max_retries, then fails over', async (kind, error) => {
    const config = await setup({ groups: { g: twoInstances(2) } })
    const mock = mockProvider({ a: fails(error()) })
    const result = await routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'a', 'b'])
    expect(result.routing.attempts.map((attempt) => [attempt.instance, attempt.retry, attempt.error?.kind])).toEqual([
      ['g.e1/mock:a', 0, kind],
      ['g.e1/mock:a', 1, kind],
      ['g.e1/mock:a', 2, kind],
      ['g.e1/mock:b', 0, undefined],
    ])
  })

  test('the built-in retry_on_errors (timeout, rate_limit, network_error): a 503 is not retried, the request fails over at once', async () => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(httpError(503)) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })

  test.each([
    ['rate_limit', () => httpError(429, 'Rate limit reached for requests per min')],
    ['overloaded', () => httpError(529, 'Overloaded')],
    ['timeout', timeoutError],
  ])(
    '%s is never retried on the same instance while another is admitted: the request moves on at once',
    async (kind, error) => {
      const config = await setup({ groups: { g: twoInstances(3) } })
      const mock = mockProvider({ a: fails(error()) })
      const result = await routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE }).generate('g', prompt)
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
      expect(result.routing.attempts.map((attempt) => attempt.error?.kind)).toEqual([kind, undefined])
    },
  )

  test('a timeout on the only instance left is retried after a backoff, within max_retries', async () => {
    const config = await setup({ groups: { g: oneInstance(2) } })
    const mock = mockProvider({ a: sequence(timeoutError(), timeoutError(), textResult('a')) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'a'])
    expect(result.routing.attempts.map((attempt) => attempt.retry)).toEqual([0, 1, 2])
  })

  test('the retry waits an exponential backoff with full jitter: with random() = 1 exactly the ceiling, base × factor^(retry−1)', async () => {
    // A pool with a lenient health_check, so that three failures in a row do not mark a unhealthy.
    const config = await setup({
      groups: { g: twoInstances(3) },
      pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 10' },
    })
    const clock = new FakeClock()
    const mock = mockProvider(
      { a: sequence(networkError(), networkError(), networkError(), textResult('a')) },
      { clock },
    )
    const router = routerFor(config, mock, {
      clock,
      random: () => 1,
      retry: { baseDelayMs: 1000, backoffFactor: 3, maxRetryDelayMs: 5000 },
    })
    const start = clock.now()
    const request = watch(router.generate('g', prompt, { timeoutMs: 60_000 }))
    await clock.advance(10_000)
    expect(request.settled).toBe(true)
    // 1000, 3000, then 9000 capped at max_retry_delay (5000).
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 1000, 4000, 9000])
  })

  test('the retry starts only after the jittered delay (base 250 ms, factor 2); its event comes when the call starts', async () => {
    const config = await setup({ groups: { g: twoInstances(2) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(networkError(), networkError(), textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock, random: () => 0.5 })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const request = watch(router.generate('g', prompt))
    await clock.advance(124)
    expect(mock.calls).toHaveLength(1)
    expect(events.some((event) => event.type === 'retry')).toBe(false)
    await clock.advance(1)
    expect(mock.calls).toHaveLength(2)
    await clock.advance(249)
    expect(mock.calls).toHaveLength(2)
    await clock.advance(1)
    expect(mock.calls).toHaveLength(3)
    expect(request.settled).toBe(true)
    const retries = events.filter((event) => event.type === 'retry') as (RouterEvent & { type: 'retry' })[]
    expect(retries.map((event) => event.delayMs)).toEqual([125, 250])
    // Emitted once the limiter and the breaker said yes: right before the retry's attempt_start.
    for (const retry of retries)
      expect(events[events.indexOf(retry) + 1]).toMatchObject({ type: 'attempt_start', retry: retry.retry })
  })

  test.each([
    ['retry-after-ms', '3000', 3000],
    ['retry-after', '2', 2000],
    ['retry-after', '0.5', 500],
    ['x-ratelimit-reset-requests', '1.5s', 1500],
  ])(
    "a 429 on the only instance: the upstream's %s: %s is honoured, the retry waits exactly that",
    async (header, value, waitMs) => {
      const config = await setup({ groups: { g: oneInstance(1) } })
      const clock = new FakeClock()
      const mock = mockProvider(
        { a: sequence(httpError(429, 'Rate limit reached', { [header]: value }), textResult('a')) },
        { clock },
      )
      const router = routerFor(config, mock, { clock, random: () => 0 })
      const request = watch(router.generate('g', prompt))
      await clock.advance(waitMs - 1)
      expect(mock.calls).toHaveLength(1)
      await clock.advance(1)
      expect(modelsCalled(mock.calls)).toEqual(['a', 'a'])
      expect(request.settled).toBe(true)
    },
  )

  test('a 429 on the only instance asking for a longer pause than max_retry_delay is not waited for: RateLimitedError with its retry-after', async () => {
    const config = await setup({ groups: { g: oneInstance(3) } })
    const mock = mockProvider({ a: fails(httpError(429, 'Rate limit reached', { 'retry-after': '30' })) })
    const router = routerFor(config, mock, { random: () => 0 })
    const error = await rejection(router.generate('g', prompt))
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    expect(error.code).toBe('all_attempts_failed')
    // The next request finds it resting: a RateLimitedError saying when it is back, and no upstream call.
    const next = await rejection(router.generate('g', prompt))
    expect(next).toMatchObject({ code: 'rate_limited' })
    expect(next.retryAfterMs).toBe(30_000)
    expect(modelsCalled(mock.calls)).toEqual(['a'])
  })

  test('a retry that would end past the deadline is not waited for: the request moves on', async () => {
    const config = await setup({ groups: { g: twoInstances(3) } })
    const mock = mockProvider({ a: fails(httpError(503, 'busy', { 'retry-after': '5' })) })
    const result = await routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE }).generate('g', prompt, {
      timeoutMs: 3000,
    })
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
    const result = await routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.attempts[0]!.error).toMatchObject({ kind, statusCode: status })
  })

  test('an upstream failure of unknown kind is not retried but failed over, and counts against the instance', async () => {
    const config = await setup({
      groups: { g: twoInstances(3, '', '[task_group.circuit_breaker]\nfailure_threshold = 1') },
    })
    const odd = Object.assign(new Error('something odd'), { [Symbol.for('llmpool.upstreamFailure')]: true })
    const mock = mockProvider({ a: fails(odd) })
    const router = routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE })
    const result = await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(result.routing.attempts[0]!.error?.kind).toBe('unknown')
    const state = await router.state()
    expect(state.instances.find((instance) => instance.key === 'g.e1/mock:a')!.breaker.state).toBe('open')
  })

  test("an error that is not the upstream's (no status, no network code) fails the request with LocalFailureError and touches no instance", async () => {
    const config = await setup({
      groups: { g: twoInstances(3, '', '[task_group.circuit_breaker]\nfailure_threshold = 1') },
    })
    const mock = mockProvider({ a: fails(new RangeError('Maximum call stack size exceeded')) })
    const router = routerFor(config, mock, { random: () => 0, ...ALL_RETRYABLE })
    const error = await rejection(router.generate('g', prompt))
    expect(LocalFailureError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'local_failure' })
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    const a = (await router.state()).instances.find((instance) => instance.key === 'g.e1/mock:a')!
    expect(a.breaker).toMatchObject({ state: 'closed', failures: 0 })
    expect(a.health).toMatchObject({ healthy: true, consecutiveFailures: 0 })
    expect(a.cooldown).toBeUndefined()
  })

  test('a request the provider cannot convert (AI_InvalidPromptError) fails with InvalidRequestError and touches no instance', async () => {
    const config = await setup({
      groups: { g: twoInstances(3, '', '[task_group.circuit_breaker]\nfailure_threshold = 1') },
    })
    const invalid = Object.assign(new Error('Invalid prompt: file part media type text/plain'), {
      name: 'AI_InvalidPromptError',
    })
    const mock = mockProvider({ a: fails(invalid), b: fails(invalid) })
    const router = routerFor(config, mock, { random: () => 0 })
    const error = await rejection(router.generate('g', prompt))
    expect(InvalidRequestError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'invalid_request', isRetryable: false })
    expect(
      (await router.state()).instances.every(
        (instance) => instance.breaker.state === 'closed' && instance.breaker.failures === 0,
      ),
    ).toBe(true)
  })

  test('EMFILE (this process out of file descriptors) is a local failure, never an instance failure', async () => {
    const config = await setup({
      groups: { g: twoInstances(3, '', '[task_group.circuit_breaker]\nfailure_threshold = 1') },
    })
    const emfile = Object.assign(new Error('Cannot connect to API: connect EMFILE'), {
      name: 'AI_APICallError',
      isRetryable: true,
      cause: Object.assign(new Error('connect EMFILE 127.0.0.1:443'), { code: 'EMFILE' }),
    })
    const mock = mockProvider({ a: fails(emfile) })
    const router = routerFor(config, mock, { random: () => 0 })
    expect(LocalFailureError.isInstance(await rejection(router.generate('g', prompt)))).toBe(true)
    expect(
      (await router.state()).instances.every((instance) => instance.breaker.failures === 0 && instance.health.healthy),
    ).toBe(true)
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
    expect(rejected).toMatchObject({
      code: 'request_rejected',
      isRetryable: false,
      kind,
      statusCode: (error as Error & { statusCode: number }).statusCode,
    })
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    expect(rejected.attempts).toHaveLength(1)
  })

  test("every retry passes through the instance's limits: with rpm_limit 1 it cannot retry within the window, and fails over", async () => {
    const config = await setup({ groups: { g: twoInstances(2, 'rpm_limit = 1') } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(networkError()) }, { clock })
    const request = watch(routerFor(config, mock, { clock, random: () => 1 }).generate('g', prompt))
    await clock.advance(1000)
    expect(request.settled).toBe(true)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect((request.value as { routing: { instance: string } }).routing.instance).toBe('g.e1/mock:b')
  })

  test("every retry passes through the instance's breaker: once it opens, the request fails over", async () => {
    const config = await setup({
      groups: { g: twoInstances(5, '', '[task_group.circuit_breaker]\nfailure_threshold = 2') },
    })
    const mock = mockProvider({ a: fails(networkError()) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })

  test('a retry needs the instance still admitted: once passive health marks it unhealthy, the request fails over', async () => {
    const config = await setup({
      groups: { g: twoInstances(5) },
      pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 2\nrecovery_time = 60' },
    })
    const mock = mockProvider({ a: fails(networkError()) })
    const result = await routerFor(config, mock, { random: () => 0 }).generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'b'])
    expect(result.routing.instance).toBe('g.e1/mock:b')
  })
})
