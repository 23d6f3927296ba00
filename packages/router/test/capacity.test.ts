import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { RateLimitedError, type RouterEvent } from '../src/index'
import {
  after,
  disposeRouters,
  hang,
  holder,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  setup,
  watch,
} from './helpers'

afterEach(disposeRouters)

const limitedGroup = (limits: string, second = true) => `
[task_group.fallback]
max_attempts = 5
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
${limits}
${second ? '[task_group.echelons.e2]\nmodels = ["mock:c"]\nmax_retries = 0' : ''}
`

describe('Capacity and waiting', { timeout: 5000 }, () => {
  test('a saturated instance (concurrency_limit) is skipped for one with capacity, then traffic spills down the chain', async () => {
    const config = await setup({ groups: { g: limitedGroup('concurrency_limit = 1') } })
    const held = holder()
    const mock = mockProvider({ a: held.behaviour, b: held.behaviour })
    const router = routerFor(config, mock)
    const first = watch(router.generate('g', prompt))
    const second = watch(router.generate('g', prompt))
    const third = await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'c'])
    expect(third.routing.instance).toBe('g.e2/mock:c')
    expect(third.routing.attempts).toHaveLength(1) // skipping a saturated instance is not an attempt
    expect(first.settled || second.settled).toBe(false)
  })

  test('in a pool, a saturated tier spills to the next tier', async () => {
    const config = await setup({
      groups: { g: limitedGroup('concurrency_limit = 1') },
      pools: { p: 'task_groups = ["g"]\n[pool.rotation_strategy]\ntype = "least_connections"' },
    })
    const held = holder()
    const mock = mockProvider({ a: held.behaviour, b: held.behaviour })
    const router = routerFor(config, mock)
    const held1 = router.generate('p', prompt).catch((error: unknown) => error)
    const held2 = router.generate('p', prompt).catch((error: unknown) => error)
    expect((await router.generate('p', prompt)).routing.instance).toBe('g.e2/mock:c')
    for (const call of held.open) call.reject(new Error('test over'))
    await Promise.all([held1, held2])
  })

  test('when no instance has capacity, requests wait first in first out for a lease to come back', async () => {
    const config = await setup({
      groups: { g: limitedGroup('concurrency_limit = 1', false).replace('"mock:a", "mock:b"', '"mock:a"') },
    })
    const clock = new FakeClock()
    const mock = mockProvider({ a: after(clock, 100) }, { clock })
    const router = routerFor(config, mock, { clock })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const start = clock.now()
    const order: number[] = []
    const requests: Promise<unknown>[] = []
    for (let index = 0; index < 4; index++) {
      requests.push(router.generate('g', prompt).then(() => order.push(index)))
      await clock.advance(10)
    }
    expect(mock.calls).toHaveLength(1)
    expect(events.filter((event) => event.type === 'rate_limited')).toHaveLength(3)
    await clock.advance(1000)
    await Promise.all(requests)
    expect(order).toEqual([0, 1, 2, 3])
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 100, 200, 300])
  })

  test('a request waiting for capacity fails with RateLimitedError (retryAfterMs > 0) at its deadline', async () => {
    const config = await setup({
      groups: { g: limitedGroup('concurrency_limit = 1', false).replace('"mock:a", "mock:b"', '"mock:a"') },
    })
    const clock = new FakeClock()
    const mock = mockProvider({ a: hang })
    const router = routerFor(config, mock, { clock })
    void rejection(router.generate('g', prompt, { timeoutMs: 60_000 }))
    await clock.advance(0)
    const start = clock.now()
    const waiting = watch(router.generate('g', prompt, { timeoutMs: 1000 }))
    await clock.advance(999)
    expect(waiting.settled).toBe(false)
    await clock.advance(1)
    expect(waiting.settled).toBe(true)
    expect(clock.now() - start).toBe(1000)
    const error = waiting.error as RateLimitedError
    expect(RateLimitedError.isInstance(error)).toBe(true)
    expect(error.code).toBe('rate_limited')
    expect(error.isRetryable).toBe(true)
    expect(error.retryAfterMs).toBeGreaterThan(0)
    expect(mock.calls).toHaveLength(1)
  })

  test('a request to another target is not held up by requests waiting for a saturated one', async () => {
    const config = await setup({
      groups: {
        busy: limitedGroup('concurrency_limit = 1', false).replace('"mock:a", "mock:b"', '"mock:a"'),
        idle: limitedGroup('', false).replace('"mock:a", "mock:b"', '"mock:x"'),
      },
    })
    const clock = new FakeClock()
    const mock = mockProvider({ a: hang })
    const router = routerFor(config, mock, { clock })
    void rejection(router.generate('busy', prompt, { timeoutMs: 60_000 }))
    void rejection(router.generate('busy', prompt, { timeoutMs: 60_000 }))
    await clock.advance(0)
    const idle = watch(router.generate('idle', prompt))
    await clock.advance(0)
    expect(idle.settled).toBe(true)
    expect(idle.error).toBeUndefined()
  })

  test('rpm_limit (sliding 60 s window): a saturated instance is skipped for the next echelon', async () => {
    const config = await setup({
      groups: { g: limitedGroup('rpm_limit = 2').replace('"mock:a", "mock:b"', '"mock:a"') },
    })
    const mock = mockProvider()
    const router = routerFor(config, mock)
    for (let i = 0; i < 3; i++) await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'c'])
  })

  test('rpm_limit: with no other instance, the request waits for the window, or fails with RateLimitedError at its deadline', async () => {
    const config = await setup({
      groups: { g: limitedGroup('rpm_limit = 1', false).replace('"mock:a", "mock:b"', '"mock:a"') },
    })
    const clock = new FakeClock()
    const mock = mockProvider({}, { clock })
    const router = routerFor(config, mock, { clock })
    const start = clock.now()
    await router.generate('g', prompt)
    const short = rejection(router.generate('g', prompt, { timeoutMs: 5000 }))
    const patient = watch(router.generate('g', prompt, { timeoutMs: 120_000 }))
    await clock.advance(5000)
    const error = await short
    expect(RateLimitedError.isInstance(error)).toBe(true)
    expect(error.retryAfterMs).toBeGreaterThan(50_000)
    await clock.advance(56_000)
    expect(patient.settled).toBe(true)
    expect(patient.error).toBeUndefined()
    // The rpm window is 61 s: a second of margin for the upstream's own clock (docs/limits.md).
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 61_000])
  })
})
