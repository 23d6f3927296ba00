/** Per-instance cooldowns: an upstream's "not now" (429, 529) and "not you" (401, 403, quota) rest the instance. */
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { NoInstanceAvailableError, RateLimitedError, type RouterEvent, sharedCooldowns } from '../src/index'
import {
  disposeRouters,
  drive,
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
} from './helpers'

afterEach(disposeRouters)

const pair = (extra = '') => `
${extra}
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 3
`
const a = 'g.e1/mock:a'

async function cooldownOf(router: ReturnType<typeof routerFor>, key: string) {
  return (await router.state()).instances.find((instance) => instance.key === key)!.cooldown
}

describe('Cooldowns', { timeout: 5000 }, () => {
  test('429 with Retry-After: 30 rests the instance 30 s: no call reaches it meanwhile, every request is answered, and it returns by itself', async () => {
    const config = await setup({ groups: { g: pair() } })
    const clock = new FakeClock()
    const mock = mockProvider(
      { a: sequence(httpError(429, 'Rate limit reached for requests', { 'retry-after': '30' }), textResult('a')) },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const first = await router.generate('g', prompt)
    expect(first.routing.attempts.map((attempt) => [attempt.instance, attempt.error?.kind])).toEqual([
      [a, 'rate_limit'],
      ['g.e1/mock:b', undefined],
    ])
    expect(events.find((event) => event.type === 'cooldown')).toMatchObject({
      instance: a,
      kind: 'rate_limit',
      durationMs: 30_000,
      remote: false,
      reason: '429 rate limited (asked 30000 ms)',
    })
    expect(await cooldownOf(router, a)).toEqual({
      kind: 'rate_limit',
      reason: '429 rate limited (asked 30000 ms)',
      remainingMs: 30_000,
      remote: false,
    })
    // The breaker and passive health are untouched: a rest is not a failure.
    const state = (await router.state()).instances.find((instance) => instance.key === a)!
    expect(state.breaker).toMatchObject({ state: 'closed', failures: 0 })
    expect(state.health).toMatchObject({ healthy: true, consecutiveFailures: 0 })
    mock.calls.length = 0
    for (let second = 0; second < 29; second++) {
      await clock.advance(1000)
      expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:b')
    }
    expect(modelsCalled(mock.calls).includes('a')).toBe(false)
    await clock.advance(1000)
    expect(await cooldownOf(router, a)).toBeUndefined()
    const served = []
    for (let i = 0; i < 2; i++) served.push((await router.generate('g', prompt)).routing.instance)
    expect(served).toContain(a)
    expect(router.metrics!.snapshot().instances[a]).toMatchObject({ cooldowns: 1 })
  })

  test.each([
    ['no hint: [task_group.cooldown] default_time', {}, 2_000],
    ['retry-after-ms', { 'retry-after-ms': '1500' }, 1_500],
    ['retry-after as an HTTP date', { 'retry-after': new Date(Date.UTC(2030, 0, 1, 0, 0, 20)).toUTCString() }, 20_000],
    [
      'x-ratelimit-reset-requests of the used-up limit',
      {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '6s',
        'x-ratelimit-remaining-tokens': '900',
        'x-ratelimit-reset-tokens': '50s',
      },
      6_000,
    ],
    ['a hint longer than max_time is capped', { 'retry-after': '3600' }, 120_000],
  ])('429 — %s', async (_case, headers, expected) => {
    const config = await setup({ groups: { g: pair('[task_group.cooldown]\ndefault_time = 2\nmax_time = 120') } })
    const clock = new FakeClock(Date.UTC(2030, 0, 1))
    const mock = mockProvider(
      { a: fails(httpError(429, 'Rate limit reached', headers as Record<string, string>)) },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    await router.generate('g', prompt)
    expect((await cooldownOf(router, a))?.remainingMs).toBe(expected)
  })

  test('529 (overloaded) rests the instance the same way', async () => {
    const config = await setup({ groups: { g: pair() } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(httpError(529, 'Overloaded')) }, { clock })
    const router = routerFor(config, mock, { clock })
    await router.generate('g', prompt)
    expect(await cooldownOf(router, a)).toMatchObject({ kind: 'overloaded', remainingMs: 5_000 })
  })

  test('a refused key (401) rests the instance for max_time, with its reason visible', async () => {
    const config = await setup({ groups: { g: pair() } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(httpError(401, 'Incorrect API key provided')) }, { clock })
    const router = routerFor(config, mock, { clock })
    await router.generate('g', prompt)
    expect(await cooldownOf(router, a)).toEqual({
      kind: 'auth',
      reason: '401 the key was refused',
      remainingMs: 300_000,
      remote: false,
    })
  })

  test('with every instance resting after 429s, a request fails at once with RateLimitedError saying when the first is back', async () => {
    const config = await setup({ groups: { g: pair() } })
    const clock = new FakeClock()
    const mock = mockProvider(
      {
        a: fails(httpError(429, 'Rate limit', { 'retry-after': '40' })),
        b: fails(httpError(429, 'Rate limit', { 'retry-after': '20' })),
      },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    await rejection(router.generate('g', prompt))
    const error = await rejection(router.generate('g', prompt))
    expect(RateLimitedError.isInstance(error)).toBe(true)
    expect(error.retryAfterMs).toBe(20_000)
    expect(mock.calls).toHaveLength(2)
  })

  test('a short rest is waited for rather than failing: a request that finds its only instance resting 2 s is served after it', async () => {
    const config = await setup({
      groups: { g: pair().replace('"mock:a", "mock:b"', '"mock:a"').replace('max_retries = 3', 'max_retries = 0') },
    })
    const clock = new FakeClock()
    const mock = mockProvider(
      { a: sequence(httpError(429, 'Rate limit', { 'retry-after': '2' }), textResult('a')) },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    const started = clock.now()
    expect(await rejection(router.generate('g', prompt))).toMatchObject({ code: 'all_attempts_failed' })
    const result = await drive(clock, router.generate('g', prompt), 100)
    expect(result.routing.instance).toBe(a)
    expect(mock.calls.map((call) => call.at! - started)).toEqual([0, 2000])
  })

  test('NoInstanceAvailableError.retryAfterMs is when the first instance is back: an open breaker, an unhealthy instance, a refused key', async () => {
    const config = await setup({
      groups: { g: pair('[task_group.circuit_breaker]\nfailure_threshold = 1\nrecovery_time = 45') },
      pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 1\nrecovery_time = 90' },
    })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(httpError(401, 'bad key')), b: fails(httpError(500)) }, { clock })
    const router = routerFor(config, mock, { clock })
    await rejection(router.generate('g', prompt))
    await clock.advance(5_000)
    const error = await rejection(router.generate('g', prompt))
    expect(NoInstanceAvailableError.isInstance(error)).toBe(true)
    // b: breaker open 45 s (40 s left), unhealthy 90 s (85 s left) → 85 s; a: refused key, 300 s (295 s left). The first back: b.
    expect(error.retryAfterMs).toBe(85_000)
    expect(error.message).toContain('the first is back in 85000 ms')
  })

  test("shared cooldowns: one router's 429 rests the instance in every router sharing them, and a router that joins later learns it", async () => {
    const config = await setup({ groups: { g: pair() } })
    const shared = sharedCooldowns()
    const mockOne = mockProvider({ a: fails(httpError(429, 'Rate limit', { 'retry-after': '30' })) })
    const mockTwo = mockProvider()
    const one = routerFor(config, mockOne, { clock: new FakeClock(), cooldowns: shared.connect() })
    const two = routerFor(config, mockTwo, { clock: new FakeClock(), cooldowns: shared.connect() })
    const heard: RouterEvent[] = []
    two.on((event) => heard.push(event))
    await one.generate('g', prompt)
    expect(heard.find((event) => event.type === 'cooldown')).toMatchObject({
      instance: a,
      kind: 'rate_limit',
      durationMs: 30_000,
      remote: true,
    })
    expect(await cooldownOf(two, a)).toMatchObject({ kind: 'rate_limit', remote: true })
    for (let i = 0; i < 4; i++) await two.generate('g', prompt)
    expect(modelsCalled(mockTwo.calls)).toEqual(['b', 'b', 'b', 'b'])
    const three = routerFor(config, mockProvider(), { clock: new FakeClock(), cooldowns: shared.connect() })
    await new Promise((resolve) => setImmediate(resolve))
    expect(await cooldownOf(three, a)).toMatchObject({ kind: 'rate_limit', remote: true })
  })

  test('a shared cooldown belongs to the instance with that key and base URL: a router whose echelon has another API key does not take it', async () => {
    const withKey = (key: string) =>
      setup({ groups: { g: pair().replace('max_retries = 3', `max_retries = 3\napi_key = "${key}"`) } })
    const shared = sharedCooldowns()
    const one = routerFor(
      await withKey('sk-first-key-1'),
      mockProvider({ a: fails(httpError(429, 'Rate limit', { 'retry-after': '30' })) }),
      { clock: new FakeClock(), cooldowns: shared.connect() },
    )
    const same = routerFor(await withKey('sk-first-key-1'), mockProvider(), {
      clock: new FakeClock(),
      cooldowns: shared.connect(),
    })
    const other = routerFor(await withKey('sk-other-key-2'), mockProvider(), {
      clock: new FakeClock(),
      cooldowns: shared.connect(),
    })
    await one.generate('g', prompt)
    expect(await cooldownOf(same, a)).toMatchObject({ kind: 'rate_limit', remote: true })
    expect(await cooldownOf(other, a)).toBeUndefined()
    expect(one.plan.instances.get(a)!.shareKey).not.toBe(other.plan.instances.get(a)!.shareKey)
    expect(one.plan.instances.get(a)!.shareKey).not.toContain('sk-first')
  })
})
