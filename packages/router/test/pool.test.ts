import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { AllAttemptsFailedError, RateLimitedError, type RouterEvent } from '../src/index'
import {
  disposeRouters,
  failing,
  holder,
  httpError,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  seededRandom,
  sequence,
  setup,
  textResult,
  watch,
} from './helpers'

afterEach(disposeRouters)

/** A task group with one echelon per entry of `echelons` (models by name), each tried once (no retries). */
function group(echelons: string[][], extra = ''): string {
  return `
${extra}
[task_group.fallback]
max_attempts = 10
retry_delay = 0
${echelons.map((models, index) => `[task_group.echelons.e${index + 1}]\nmodels = [${models.map((model) => `"mock:${model}"`).join(', ')}]\nmax_retries = 0`).join('\n')}
`
}

function pool(groups: string[], strategy: string, extra = ''): string {
  return `
task_groups = [${groups.map((name) => `"${name}"`).join(', ')}]
[pool.rotation_strategy]
type = "${strategy}"
${extra}
`
}

/** How many of `picks` went to each name, as a share of all. */
function shares(picks: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const pick of picks) counts[pick] = (counts[pick] ?? 0) + 1
  return Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, count / picks.length]))
}

async function modelsServing(
  router: ReturnType<typeof routerFor>,
  target: string,
  requests: number,
): Promise<string[]> {
  const picks: string[] = []
  for (let i = 0; i < requests; i++) picks.push((await router.generate(target, prompt)).routing.instance.split(':')[1]!)
  return picks
}

describe('A request to a pool', { timeout: 5000 }, () => {
  describe('tiers', () => {
    test('instances form tiers by echelon priority across groups; a lower tier serves only when the better one has nothing admitted', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b'], ['c']]), h: group([['x']]) },
        pools: { p: pool(['g', 'h'], 'round_robin', '[pool.fallback]\nmax_instance_attempts = 4') },
      })
      const mock = mockProvider()
      const router = routerFor(config, mock)
      // Among instances of equal priority, the pool's task_groups order is a preference: g.e1 before h.e1.
      expect(await modelsServing(router, 'p', 6)).toEqual(['a', 'b', 'a', 'b', 'a', 'b'])
      Object.assign(mock.behaviours, failing('a', 'b'))
      expect((await router.generate('p', prompt)).routing.instance).toBe('h.e1/mock:x')
      Object.assign(mock.behaviours, failing('a', 'b', 'x'))
      mock.calls.length = 0
      expect((await router.generate('p', prompt)).routing.instance).toBe('g.e2/mock:c')
      expect(modelsCalled(mock.calls).slice(-1)).toEqual(['c'])
      expect(modelsCalled(mock.calls).slice(0, 3).sort()).toEqual(['a', 'b', 'x'])
    })
  })

  describe('rotation strategies', () => {
    test('round_robin: in turn, each request starts one instance further', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b', 'c'], ['d']]) },
        pools: { p: pool(['g'], 'round_robin') },
      })
      const router = routerFor(config, mockProvider())
      expect(await modelsServing(router, 'p', 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'])
    })

    test('round_robin: after a failover the next request still starts one instance further', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b', 'c']]) },
        pools: { p: pool(['g'], 'round_robin', '[pool.fallback]\nmax_instance_attempts = 3') },
      })
      const mock = mockProvider({ a: sequence(httpError(500), textResult('a')) })
      const router = routerFor(config, mock)
      expect((await router.generate('p', prompt)).routing.attempts.map((attempt) => attempt.instance)).toEqual([
        'g.e1/mock:a',
        'g.e1/mock:b',
      ])
      expect(await modelsServing(router, 'p', 3)).toEqual(['b', 'c', 'a'])
    })

    test('random: a uniformly random order within the tier, reproducible with a seeded random', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b', 'c'], ['d']]) },
        pools: { p: pool(['g'], 'random') },
      })
      const first = await modelsServing(routerFor(config, mockProvider(), { random: seededRandom(42) }), 'p', 450)
      const second = await modelsServing(routerFor(config, mockProvider(), { random: seededRandom(42) }), 'p', 450)
      expect(second).toEqual(first)
      const split = shares(first)
      expect(Object.keys(split).sort()).toEqual(['a', 'b', 'c'])
      for (const share of Object.values(split)) expect(Math.abs(share - 1 / 3)).toBeLessThan(0.07)
    })

    test("weighted: the document's thinking_pool (10 / 5 / 1) sends about 62.5 %, 31.25 % and 6.25 % to the three echelons", async () => {
      const config = await setup({
        groups: { thinking_group: group([['e1a', 'e1b'], ['e2'], ['e3']]) },
        pools: {
          thinking_pool: pool(
            ['thinking_group'],
            'weighted',
            '[pool.rotation_strategy.options]\nweights = { "thinking_group.e1" = 10, "thinking_group.e2" = 5, "thinking_group.e3" = 1 }',
          ),
        },
      })
      const picks = await modelsServing(
        routerFor(config, mockProvider(), { random: seededRandom(2024) }),
        'thinking_pool',
        2000,
      )
      const split = shares(picks)
      const e1 = (split.e1a ?? 0) + (split.e1b ?? 0)
      expect(Math.abs(e1 - 0.625)).toBeLessThan(0.03)
      expect(Math.abs(split.e2! - 0.3125)).toBeLessThan(0.03)
      expect(Math.abs(split.e3! - 0.0625)).toBeLessThan(0.02)
      // An echelon's weight is shared evenly by its instances.
      expect(Math.abs(split.e1a! - split.e1b!)).toBeLessThan(0.04)
    })

    test('weighted: the weighted echelons form one first tier whatever their priority; an echelon without a weight gets 0 and serves only as fallback', async () => {
      const config = await setup({
        groups: { t: group([['best'], ['w1'], ['w2']]) },
        pools: {
          p: pool(
            ['t'],
            'weighted',
            '[pool.rotation_strategy.options]\nweights = { "t.e2" = 1, "t.e3" = 1 }\n[pool.fallback]\nmax_instance_attempts = 3',
          ),
        },
      })
      const mock = mockProvider()
      const router = routerFor(config, mock, { random: seededRandom(3) })
      const picks = await modelsServing(router, 'p', 200)
      expect(picks).not.toContain('best')
      expect(new Set(picks)).toEqual(new Set(['w1', 'w2']))
      Object.assign(mock.behaviours, failing('w1', 'w2'))
      expect((await router.generate('p', prompt)).routing.instance).toBe('t.e1/mock:best')
    })

    test('weighted with `weights = {}` behaves as priority tiers with equal weights (random within a tier)', async () => {
      const config = await setup({
        groups: { t: group([['a', 'b'], ['c']]) },
        pools: { p: pool(['t'], 'weighted', '[pool.rotation_strategy.options]\nweights = {}') },
      })
      const split = shares(
        await modelsServing(routerFor(config, mockProvider(), { random: seededRandom(11) }), 'p', 1000),
      )
      expect(split.c).toBeUndefined()
      expect(Math.abs(split.a! - 0.5)).toBeLessThan(0.05)
    })

    test('least_connections: fewest calls in flight first; ties in turn', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b', 'c']]) },
        pools: { p: pool(['g'], 'least_connections') },
      })
      const heldA = holder()
      const heldB = holder()
      const mock = mockProvider({
        a: sequence(heldA.behaviour, textResult('a')),
        b: sequence(heldB.behaviour, textResult('b')),
      })
      const router = routerFor(config, mock)
      const first = watch(router.generate('p', prompt))
      const second = watch(router.generate('p', prompt))
      await new Promise((resolve) => setImmediate(resolve))
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
      // a and b each have a call in flight: c (none) goes first, every time.
      expect(await modelsServing(router, 'p', 4)).toEqual(['c', 'c', 'c', 'c'])
      heldA.open[0]!.resolve(textResult('a'))
      heldB.open[0]!.resolve(textResult('b'))
      await new Promise((resolve) => setImmediate(resolve))
      expect(first.settled && second.settled).toBe(true)
      // All idle: ties in turn.
      const turns = await modelsServing(router, 'p', 6)
      expect(turns.slice(0, 3).sort()).toEqual(['a', 'b', 'c'])
      expect(turns.slice(3)).toEqual(turns.slice(0, 3))
    })
  })

  describe('failure', () => {
    test('instance_rotation: other instances of the pool, the same tier first, up to max_instance_attempts', async () => {
      const config = await setup({
        groups: {
          g: group([
            ['a', 'b'],
            ['c', 'd'],
          ]),
        },
        pools: {
          p: pool(['g'], 'round_robin', '[pool.fallback]\nstrategy = "instance_rotation"\nmax_instance_attempts = 3'),
        },
      })
      const mock = mockProvider(failing('a', 'b', 'c', 'd'))
      const error = await rejection(routerFor(config, mock).generate('p', prompt))
      expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
      const called = modelsCalled(mock.calls)
      expect(called).toHaveLength(3)
      expect(called.slice(0, 2).sort()).toEqual(['a', 'b'])
      expect(['c', 'd']).toContain(called[2])
      expect(error.attempts.map((attempt: { pool: string }) => attempt.pool)).toEqual(['p', 'p', 'p'])
    })

    test('pool_fallback: then the fallback pools in order, each with its own strategy and max_instance_attempts', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b']]), h: group([['x', 'y']]), k: group([['z']]) },
        pools: {
          p1: pool(
            ['g'],
            'round_robin',
            '[pool.fallback]\nstrategy = "pool_fallback"\nmax_instance_attempts = 2\nfallback_pools = ["p2", "p3"]',
          ),
          p2: pool(['h'], 'round_robin', '[pool.fallback]\nmax_instance_attempts = 1'),
          p3: pool(['k'], 'round_robin'),
        },
      })
      const mock = mockProvider(failing('a', 'b', 'x', 'y'))
      const router = routerFor(config, mock)
      const events: RouterEvent[] = []
      router.on((event) => events.push(event))
      const result = await router.generate('p1', prompt)
      expect(result.routing.instance).toBe('k.e1/mock:z')
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'x', 'z'])
      expect(result.routing.attempts.map((attempt) => attempt.pool)).toEqual(['p1', 'p1', 'p2', 'p3'])
      expect(
        events
          .filter((event) => event.type === 'fallback' && event.toPool)
          .map((event) => (event as { toPool: string }).toPool),
      ).toEqual(['p2', 'p3'])
    })

    test('pool_fallback never loops, even when two pools name each other', async () => {
      const config = await setup({
        groups: { g: group([['a']]), h: group([['x']]) },
        pools: {
          p1: pool(['g'], 'round_robin', '[pool.fallback]\nstrategy = "pool_fallback"\nfallback_pools = ["p2"]'),
          p2: pool(['h'], 'round_robin', '[pool.fallback]\nstrategy = "pool_fallback"\nfallback_pools = ["p1"]'),
        },
      })
      const mock = mockProvider(failing('a', 'x'))
      const router = routerFor(config, mock)
      expect(AllAttemptsFailedError.isInstance(await rejection(router.generate('p1', prompt)))).toBe(true)
      expect(modelsCalled(mock.calls)).toEqual(['a', 'x'])
      mock.calls.length = 0
      await rejection(router.generate('p2', prompt))
      expect(modelsCalled(mock.calls)).toEqual(['x', 'a'])
    })

    test("a pool request uses its groups' instances and settings, never the groups' own fallback chains", async () => {
      const config = await setup({
        groups: {
          g: group([['a', 'b']], '').replace('retry_delay = 0', 'retry_delay = 0\nfallback_groups = ["h"]'),
          h: group([['x']]),
        },
        pools: { p: pool(['g'], 'round_robin', '[pool.fallback]\nmax_instance_attempts = 5') },
      })
      const mock = mockProvider(failing('a', 'b'))
      const router = routerFor(config, mock)
      await rejection(router.generate('p', prompt))
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
      // The same group used directly follows its chain to h.
      mock.calls.length = 0
      expect((await router.generate('g', prompt)).routing.instance).toBe('h.e1/mock:x')
    })
  })

  describe('admission', () => {
    const limited = (algorithm: string) =>
      algorithm === 'token_bucket'
        ? '[pool.rate_limiting]\nenabled = true\nalgorithm = "token_bucket"\n[pool.rate_limiting.token_bucket]\nbucket_size = 1\nrefill_rate = 1'
        : '[pool.rate_limiting]\nenabled = true\nalgorithm = "fixed_window"\n[pool.rate_limiting.fixed_window]\nwindow_size = 1\nmax_requests = 1'

    test.each(['token_bucket', 'fixed_window'])(
      'a rate-limited pool (%s) takes one token per request; requests wait for it in order',
      async (algorithm) => {
        const config = await setup({
          groups: { g: group([['a']]) },
          pools: { p: pool(['g'], 'round_robin', limited(algorithm)) },
        })
        const clock = new FakeClock()
        const mock = mockProvider({}, { clock })
        const router = routerFor(config, mock, { clock })
        const events: RouterEvent[] = []
        router.on((event) => events.push(event))
        const start = clock.now()
        const done: number[] = []
        const requests = [0, 1, 2].map((index) => router.generate('p', prompt).then(() => done.push(index)))
        await clock.advance(0)
        expect(done).toEqual([0])
        expect(events.filter((event) => event.type === 'rate_limited')).toHaveLength(2)
        await clock.advance(999)
        expect(done).toEqual([0])
        await clock.advance(1)
        expect(done).toEqual([0, 1])
        await clock.advance(1000)
        await Promise.all(requests)
        expect(done).toEqual([0, 1, 2])
        expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 1000, 2000])
      },
    )

    test('a request that cannot get a token within its deadline fails with RateLimitedError', async () => {
      const config = await setup({
        groups: { g: group([['a']]) },
        pools: { p: pool(['g'], 'round_robin', limited('token_bucket')) },
      })
      const clock = new FakeClock()
      const mock = mockProvider()
      const router = routerFor(config, mock, { clock })
      await router.generate('p', prompt)
      const late = rejection(router.generate('p', prompt, { timeoutMs: 500 }))
      await clock.advance(500)
      const error = await late
      expect(RateLimitedError.isInstance(error)).toBe(true)
      expect(error.retryAfterMs).toBeGreaterThan(0)
      expect(mock.calls).toHaveLength(1)
    })

    test('the pool admission lease ends with the request: nothing stays in flight', async () => {
      const config = await setup({
        groups: { g: group([['a', 'b']]) },
        pools: {
          p: pool(
            ['g'],
            'round_robin',
            '[pool.rate_limiting]\nenabled = true\n[pool.rate_limiting.token_bucket]\nbucket_size = 100\nrefill_rate = 1',
          ),
        },
      })
      const router = routerFor(config, mockProvider())
      for (let i = 0; i < 25; i++) await router.generate('p', prompt)
      const state = await router.state()
      expect(state.pools.find((entry) => entry.name === 'p')!.limits).toMatchObject({ inFlight: 0, available: 75 })
    })

    test('a fallback pool without a token is skipped', async () => {
      const config = await setup({
        groups: { g: group([['a']]), h: group([['x']]), k: group([['z']]) },
        pools: {
          p1: pool(['g'], 'round_robin', '[pool.fallback]\nstrategy = "pool_fallback"\nfallback_pools = ["p2", "p3"]'),
          p2: pool(['h'], 'round_robin', limited('token_bucket')),
          p3: pool(['k'], 'round_robin'),
        },
      })
      const mock = mockProvider(failing('a'))
      const router = routerFor(config, mock)
      await router.generate('p2', prompt) // takes p2's only token
      mock.calls.length = 0
      expect((await router.generate('p1', prompt)).routing.instance).toBe('k.e1/mock:z')
      expect(modelsCalled(mock.calls)).toEqual(['a', 'z'])
    })
  })
})
