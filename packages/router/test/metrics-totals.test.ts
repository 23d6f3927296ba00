/**
 * `router.metrics.totals()`: figures since each series was first counted. They only ever grow — across the
 * retention period's roll-over, reloads and odd upstream reports — while `snapshot()` keeps the recent window.
 */
import { createConfigStore } from '@llmpool/config'
import { FakeClock } from '@llmpool/testing'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { type MetricsSnapshot, RouterMetrics, type SeriesFigures } from '../src/index'
import {
  configDirectory,
  disposeRouters,
  drive,
  httpError,
  layout,
  mockProvider,
  prompt,
  routerFor,
  sequence,
  setup,
  textResult,
} from './helpers'

afterEach(disposeRouters)

/** A pool counted in intervals of 10 s, kept for a minute; instances `g.e1/mock:a` (fails first) and `g.e1/mock:b`. */
const config = () =>
  setup({
    pools: { p: 'task_groups = ["g"]\n[pool.metrics]\ninterval = 10\nretention_period = 60' },
    groups: {
      g: '[task_group.fallback]\nretry_delay = 0\n[task_group.echelons.e1]\nmodels = ["mock:a", "mock:b"]\nmax_retries = 0',
    },
  })

/** Every number in the figures that Prometheus reads as a counter: counts, failures by kind, histogram buckets and sums. */
function counterValues(figures: SeriesFigures): Record<string, number> {
  const values: Record<string, number> = {}
  for (const [key, value] of Object.entries(figures))
    if (typeof value === 'number' && key !== 'inFlight') values[key] = value
  for (const [kind, count] of Object.entries(figures.failures)) values[`failures.${kind}`] = count ?? 0
  for (const name of ['latency', 'timeToFirstToken'] as const) {
    values[`${name}.count`] = figures[name].count
    values[`${name}.sum`] = figures[name].sumMs
    for (const [bound, count] of Object.entries(figures[name].buckets)) values[`${name}.${bound}`] = count
  }
  return values
}

/** Asserts that no counter of `before` is lower in `after`, and that no series of `before` is missing. */
function expectNoDecrease(before: MetricsSnapshot, after: MetricsSnapshot): void {
  for (const scope of ['instances', 'pools', 'taskGroups'] as const) {
    for (const [name, figures] of Object.entries(before[scope])) {
      const later = after[scope][name]
      expect(later, `${scope} ${name}`).toBeDefined()
      const now = counterValues(later!)
      for (const [key, value] of Object.entries(counterValues(figures)))
        expect(now[key] ?? 0, `${scope} ${name} ${key}`).toBeGreaterThanOrEqual(value)
    }
  }
}

describe('totals()', () => {
  test('keep counting after the retention period dropped the intervals that snapshot() sums', async () => {
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(httpError(503), textResult('a')) }, { clock })
    const router = routerFor(await config(), mock, { clock, healthChecks: false })
    for (let i = 0; i < 3; i++) await drive(clock, router.generate('p', prompt))
    const first = router.metrics!.totals()
    expect(first.pools.p).toMatchObject({
      requests: 3,
      successes: 3,
      fallbacks: 1,
      inputTokens: 9,
      outputTokens: 15,
      inFlight: 0,
    })
    expect(first.pools.p!.latency.count).toBe(3)
    expect(first.instances['g.e1/mock:a']).toMatchObject({ requests: 2, successes: 1, failures: { server_error: 1 } })
    // While nothing was dropped, both views agree.
    expect(router.metrics!.snapshot().pools.p).toEqual(first.pools.p)

    await clock.advance(120_000)
    expect(router.metrics!.snapshot().pools.p!.requests).toBe(0)
    expect(router.metrics!.totals().pools.p).toEqual(first.pools.p)

    for (let i = 0; i < 2; i++) await drive(clock, router.generate('p', prompt))
    const second = router.metrics!.totals()
    expect(router.metrics!.snapshot().pools.p!.requests).toBe(2)
    expect(second.pools.p).toMatchObject({ requests: 5, successes: 5, fallbacks: 1, inputTokens: 15, outputTokens: 25 })
    expect(second.pools.p!.latency.count).toBe(5)
    expect(second.instances['g.e1/mock:a']!.failures).toEqual({ server_error: 1 })
    expectNoDecrease(first, second)
  })

  test('a series stays, and keeps its counts, after a reload removed its instance', async () => {
    const clock = new FakeClock()
    const files = (models: string) =>
      layout({ pools: { p: 'task_groups = ["g"]' }, groups: { g: `[task_group.echelons.e1]\nmodels = [${models}]` } })
    const directory = configDirectory(files('"mock:a", "mock:b"'))
    const store = await createConfigStore({ directory, env: {}, watch: false })
    try {
      const router = routerFor(store, mockProvider({}, { clock }), { clock, healthChecks: false })
      for (let i = 0; i < 4; i++) await drive(clock, router.generate('p', prompt))
      const before = router.metrics!.totals()
      expect(before.instances['g.e1/mock:b']!.requests).toBe(2)
      configDirectory(files('"mock:a"'), directory)
      expect((await store.reload()).status).toBe('applied')
      await drive(clock, router.generate('p', prompt))
      const after = router.metrics!.totals()
      expect(after.instances['g.e1/mock:a']!.requests).toBe(3)
      expectNoDecrease(before, after)
    } finally {
      await store.dispose()
    }
  })
})

describe('RouterMetrics', () => {
  const settings = { intervalMs: 1_000, retentionMs: 5_000 }
  const make = (clock: FakeClock) => new RouterMetrics(clock, () => settings)
  const attempt = (at: number, extra: Record<string, unknown>) =>
    ({
      type: 'attempt_end',
      at,
      requestId: 1,
      target: 'p',
      instance: 'i',
      retry: 0,
      durationMs: 10,
      ok: true,
      ...extra,
    }) as const

  test('a clock stepped back, or an upstream reporting negative or NaN usage, never makes a total fall', () => {
    const clock = new FakeClock()
    const metrics = make(clock)
    metrics.record(attempt(clock.now(), { inputTokens: 10, outputTokens: 20 }))
    const before = metrics.totals()
    metrics.record(attempt(clock.now(), { durationMs: -250, inputTokens: -5, outputTokens: Number.NaN }))
    metrics.record(attempt(clock.now(), { durationMs: Number.POSITIVE_INFINITY, timeToFirstTokenMs: -1 }))
    const after = metrics.totals()
    expect(after.instances.i).toMatchObject({ successes: 3, inputTokens: 10, outputTokens: 20 })
    expect(after.instances.i!.latency.sumMs).toBe(10)
    expect(after.instances.i!.timeToFirstToken).toMatchObject({ count: 1, sumMs: 0 })
    expectNoDecrease(before, after)
  })

  test('property: whatever the events and the clock, totals only grow and equal every event counted', () => {
    const step = fc.oneof(
      fc.record({ advance: fc.integer({ min: 0, max: 4_000 }) }),
      fc.record({
        outcome: fc.constantFrom('ok', 'server_error', 'timeout', 'cancelled'),
        durationMs: fc.integer({ min: 0, max: 200_000 }),
        tokens: fc.integer({ min: 0, max: 1_000 }),
      }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const clock = new FakeClock()
        const metrics = make(clock)
        const expected = { successes: 0, cancelled: 0, failures: 0, tokens: 0, latencyMs: 0 }
        let previous = metrics.totals()
        for (const item of steps) {
          if ('advance' in item) {
            // Time moves without events: the window empties, the totals stay.
            clock.tick(item.advance)
          } else {
            const { outcome, durationMs, tokens } = item
            metrics.record(
              attempt(clock.now(), {
                ok: outcome === 'ok',
                cancelled: outcome === 'cancelled' ? true : undefined,
                error: outcome === 'ok' || outcome === 'cancelled' ? undefined : { kind: outcome, message: 'x' },
                durationMs,
                outputTokens: tokens,
              }),
            )
            if (outcome === 'ok') expected.successes++
            else if (outcome === 'cancelled') expected.cancelled++
            else expected.failures++
            expected.tokens += tokens
            expected.latencyMs += durationMs
          }
          const current = metrics.totals()
          expectNoDecrease(previous, current)
          previous = current
        }
        const totals = previous.instances.i
        if (!totals) return expected.successes + expected.cancelled + expected.failures === 0
        const failures = Object.values(totals.failures).reduce((sum: number, count) => sum + (count ?? 0), 0)
        expect({
          successes: totals.successes,
          cancelled: totals.cancelled,
          failures,
          tokens: totals.outputTokens,
          latencyMs: totals.latency.sumMs,
        }).toEqual(expected)
        expect(totals.latency.count).toBe(steps.length - steps.filter((item) => 'advance' in item).length)
        expect(
          totals.latency.buckets['+Inf']! +
            Object.entries(totals.latency.buckets)
              .filter(([bound]) => bound !== '+Inf')
              .reduce((sum, [, count]) => sum + count, 0),
        ).toBe(totals.latency.count)
        return true
      }),
    )
  })
})
