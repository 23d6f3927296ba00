import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { NoInstanceAvailableError, type ProviderDefinition, type RouterEvent } from '../src/index'
import {
  disposeRouters,
  fails,
  httpError,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  setup,
  textResult,
} from './helpers'

afterEach(disposeRouters)

const group = (breaker: string) => `
[task_group.circuit_breaker]
${breaker}
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
`

function recorder(router: ReturnType<typeof routerFor>) {
  const events: RouterEvent[] = []
  router.on((event) => events.push(event))
  return events
}

describe('Instances', { timeout: 5000 }, () => {
  describe('circuit breaker', () => {
    test('an instance failing failure_threshold times opens its breaker and gets no attempt until recovery_time; then a trial call decides', async () => {
      const config = await setup({ groups: { g: group('failure_threshold = 2\nrecovery_time = 10') } })
      const clock = new FakeClock()
      const mock = mockProvider({ a: fails(httpError(503)) })
      const router = routerFor(config, mock, { clock })
      const events = recorder(router)
      for (let i = 0; i < 4; i++) await router.generate('g', prompt)
      // a is first in turn on requests 1 and 3: two counted failures open it.
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'b', 'a', 'b', 'b'])
      expect(events.filter((event) => event.type === 'breaker_change')).toEqual([
        {
          type: 'breaker_change',
          at: clock.now(),
          instance: 'g.e1/mock:a',
          from: 'closed',
          to: 'open',
          reason: 'failure_threshold',
        },
      ])
      mock.calls.length = 0
      for (let i = 0; i < 4; i++) await router.generate('g', prompt)
      expect(modelsCalled(mock.calls)).toEqual(['b', 'b', 'b', 'b'])

      await clock.advance(9_999)
      mock.calls.length = 0
      await router.generate('g', prompt)
      await router.generate('g', prompt)
      expect(modelsCalled(mock.calls)).toEqual(['b', 'b'])

      await clock.advance(1)
      mock.behaviours.a = () => textResult('a')
      mock.calls.length = 0
      for (let i = 0; i < 2; i++) await router.generate('g', prompt)
      expect(modelsCalled(mock.calls).filter((model) => model === 'a')).toHaveLength(1)
      expect(
        events.filter((event) => event.type === 'breaker_change').map((event) => (event as { to: string }).to),
      ).toEqual(['open', 'half_open', 'closed'])
      const state = await router.state()
      expect(state.instances.find((instance) => instance.key === 'g.e1/mock:a')!.breaker.state).toBe('closed')
    })

    test('a failed trial opens the breaker again', async () => {
      const config = await setup({ groups: { g: group('failure_threshold = 1\nrecovery_time = 10') } })
      const clock = new FakeClock()
      const mock = mockProvider({ a: fails(httpError(503)) })
      const router = routerFor(config, mock, { clock })
      const events = recorder(router)
      await router.generate('g', prompt)
      await clock.advance(10_000)
      for (let i = 0; i < 2; i++) await router.generate('g', prompt)
      expect(
        events.filter((event) => event.type === 'breaker_change').map((event) => `${(event as { to: string }).to}`),
      ).toEqual(['open', 'half_open', 'open'])
    })

    test('NoInstanceAvailableError when every instance is open, before any attempt', async () => {
      const config = await setup({ groups: { g: group('failure_threshold = 1\nrecovery_time = 10') } })
      const mock = mockProvider({ a: fails(httpError(503)), b: fails(httpError(503)) })
      const router = routerFor(config, mock)
      await rejection(router.generate('g', prompt))
      mock.calls.length = 0
      const error = await rejection(router.generate('g', prompt))
      expect(NoInstanceAvailableError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ code: 'no_instance_available', isRetryable: true, attempts: [] })
      expect(mock.calls).toHaveLength(0)
    })
  })

  describe('passive health', () => {
    const pool = (health: string, name = 'g') => `task_groups = ["${name}"]\n[pool.health_check]\n${health}`

    test('failure_threshold consecutive failures mark an instance unhealthy for recovery_time; then it is back', async () => {
      const config = await setup({
        groups: { g: group('failure_threshold = 100') },
        pools: { p: pool('failure_threshold = 2\nrecovery_time = 5') },
      })
      const clock = new FakeClock()
      const mock = mockProvider({ a: fails(httpError(500)) })
      const router = routerFor(config, mock, { clock })
      const events = recorder(router)
      for (let i = 0; i < 4; i++) await router.generate('p', prompt)
      expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'b', 'a', 'b', 'b'])
      expect(events.filter((event) => event.type === 'health_change')).toEqual([
        { type: 'health_change', at: clock.now(), instance: 'g.e1/mock:a', healthy: false, reason: 'server_error' },
      ])
      mock.calls.length = 0
      for (let i = 0; i < 3; i++) await router.generate('p', prompt)
      expect(modelsCalled(mock.calls)).toEqual(['b', 'b', 'b'])

      await clock.advance(5000)
      delete mock.behaviours.a
      mock.calls.length = 0
      for (let i = 0; i < 2; i++) await router.generate('p', prompt)
      expect(modelsCalled(mock.calls).sort()).toEqual(['a', 'b'])
      expect(
        events
          .filter((event) => event.type === 'health_change')
          .map((event) => (event as { healthy: boolean }).healthy),
      ).toEqual([false, true])
    })

    test('a success resets the count: only consecutive failures count', async () => {
      const config = await setup({
        groups: { g: group('failure_threshold = 100').replace('"mock:a", "mock:b"', '"mock:a"') },
        pools: { p: pool('failure_threshold = 2\nrecovery_time = 5') },
      })
      let call = 0
      const mock = mockProvider({ a: () => (call++ % 2 === 0 ? Promise.reject(httpError(500)) : textResult('a')) })
      const router = routerFor(config, mock)
      const events = recorder(router)
      for (let i = 0; i < 6; i++) await router.generate('p', prompt).catch(() => undefined)
      expect(mock.calls).toHaveLength(6)
      expect(events.filter((event) => event.type === 'health_change')).toEqual([])
    })

    test('with several pools, an instance takes the strictest health settings; a group in no pool gets the defaults (3 failures)', async () => {
      const config = await setup({
        groups: {
          g: group('failure_threshold = 100').replace('"mock:a", "mock:b"', '"mock:a"'),
          solo: group('failure_threshold = 100').replace('"mock:a", "mock:b"', '"mock:s"'),
        },
        pools: {
          lenient: pool('failure_threshold = 5\nrecovery_time = 5'),
          strict: pool('failure_threshold = 2\nrecovery_time = 1'),
        },
      })
      const clock = new FakeClock()
      const mock = mockProvider({ a: fails(httpError(500)), s: fails(httpError(500)) })
      const router = routerFor(config, mock, { clock })
      for (let i = 0; i < 3; i++) await rejection(router.generate('lenient', prompt))
      // Unhealthy after 2 (strict's threshold) for 5 s (lenient's recovery time).
      expect(modelsCalled(mock.calls)).toEqual(['a', 'a'])
      await clock.advance(4999)
      expect(NoInstanceAvailableError.isInstance(await rejection(router.generate('strict', prompt)))).toBe(true)
      await clock.advance(1)
      await rejection(router.generate('strict', prompt))
      expect(mock.calls).toHaveLength(3)

      for (let i = 0; i < 4; i++) await rejection(router.generate('solo', prompt))
      expect(modelsCalled(mock.calls).filter((model) => model === 's')).toHaveLength(3)
    })
  })

  describe('active probe', () => {
    function probed() {
      const probes: string[] = []
      let failing = false
      const mock = mockProvider()
      const definition: ProviderDefinition = {
        createModel: mock.definition.createModel,
        probe: async (settings) => {
          probes.push(settings.modelId)
          if (failing) throw httpError(503, 'probe failed')
        },
      }
      return { mock, definition, probes, fail: (value: boolean) => (failing = value) }
    }

    test('one probe per instance per interval, however many pools contain its group (the shortest interval wins)', async () => {
      const config = await setup({
        groups: { g: group('failure_threshold = 100') },
        pools: {
          p1: 'task_groups = ["g"]\n[pool.health_check]\ninterval = 10',
          p2: 'task_groups = ["g"]\n[pool.health_check]\ninterval = 30',
        },
      })
      const clock = new FakeClock()
      const provider = probed()
      routerFor(config, provider.mock, { clock, healthChecks: true, providers: { mock: provider.definition } })
      await clock.advance(9_999)
      expect(provider.probes).toEqual([])
      await clock.advance(1)
      expect(provider.probes.sort()).toEqual(['a', 'b'])
      await clock.advance(10_000)
      expect(provider.probes.sort()).toEqual(['a', 'a', 'b', 'b'])
    })

    test('failing probes mark an instance unhealthy (health_change); a succeeding probe restores it', async () => {
      const config = await setup({
        groups: { g: group('failure_threshold = 100').replace('"mock:a", "mock:b"', '"mock:a"') },
        pools: {
          p: 'task_groups = ["g"]\n[pool.health_check]\ninterval = 10\nfailure_threshold = 2\nrecovery_time = 600',
        },
      })
      const clock = new FakeClock()
      const provider = probed()
      const router = routerFor(config, provider.mock, {
        clock,
        healthChecks: true,
        providers: { mock: provider.definition },
      })
      const events = recorder(router)
      provider.fail(true)
      await clock.advance(20_000)
      expect(events.filter((event) => event.type === 'health_change')).toEqual([
        {
          type: 'health_change',
          at: clock.now(),
          instance: 'g.e1/mock:a',
          healthy: false,
          reason: 'probe: probe failed',
        },
      ])
      expect(NoInstanceAvailableError.isInstance(await rejection(router.generate('p', prompt)))).toBe(true)
      provider.fail(false)
      await clock.advance(10_000)
      expect(
        events
          .filter((event) => event.type === 'health_change')
          .map((event) => (event as { healthy: boolean }).healthy),
      ).toEqual([false, true])
      expect((await router.generate('p', prompt)).routing.instance).toBe('g.e1/mock:a')
    })

    test('no probe with healthChecks: false, nor for a group no pool contains', async () => {
      const config = await setup({
        groups: { g: group('failure_threshold = 100'), solo: group('').replace(/mock:a", "mock:b/, 'mock:s') },
        pools: { p: 'task_groups = ["g"]\n[pool.health_check]\ninterval = 10' },
      })
      const clock = new FakeClock()
      const off = probed()
      routerFor(config, off.mock, { clock, providers: { mock: off.definition } })
      const on = probed()
      routerFor(config, on.mock, { clock, healthChecks: true, providers: { mock: on.definition } })
      await clock.advance(10_000)
      expect(off.probes).toEqual([])
      expect(on.probes.sort()).toEqual(['a', 'b'])
    })
  })
})
