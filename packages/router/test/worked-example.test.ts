import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { RateLimitedError, type RouterEvent } from '../src/index'
import {
  disposeRouters,
  drive,
  fails,
  holder,
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

// docs/routing.md, "Worked example", step by step.
describe('Worked example', { timeout: 5000 }, () => {
  test('task group g: retries, failover, turns, a breaker that opens and recovers, spill-over and waiting', async () => {
    const config = await setup({
      groups: {
        g: `
fallback_strategy = "echelon_down"
[task_group.circuit_breaker]
failure_threshold = 3
recovery_time = 30
[task_group.fallback]
strategy = "echelon_down"
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 1
concurrency_limit = 1
[task_group.echelons.e2]
models = ["mock:c"]
max_retries = 1
concurrency_limit = 1
`,
      },
      // A pool that contains g only so that passive health is lenient here: this example is about the breaker.
      pools: { other: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 10' },
    })
    const clock = new FakeClock()
    const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    const mock = mockProvider({ a: fails(reset()) }, { clock })
    const router = routerFor(config, mock, { clock, random: () => 0.5 })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const attemptsOf = (result: {
      routing: { attempts: readonly { instance: string; retry: number; error?: { kind?: string } }[] }
    }) =>
      result.routing.attempts.map(
        (attempt) =>
          `${attempt.instance.split(':')[1]}${attempt.retry ? ` retry ${attempt.retry}` : ''} (${attempt.error?.kind ?? 'ok'})`,
      )

    // 1. a's connection is reset (a network error: retried), once more after a jittered backoff (0.5 × 250 ms);
    //    its max_retries (1) spent, the request moves to b, which answers.
    const first = watch(router.generate('g', prompt))
    await clock.advance(125)
    expect(attemptsOf(first.value as never)).toEqual(['a (network_error)', 'a retry 1 (network_error)', 'b (ok)'])

    // 2. The turn starts at b.
    mock.calls.length = 0
    expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:b')

    // 3. a keeps failing: its third counted failure opens its breaker; then b only, no attempt on a.
    const third = watch(router.generate('g', prompt))
    await clock.advance(0)
    expect(third.error).toBeUndefined()
    expect(attemptsOf(third.value as never)).toEqual(['a (network_error)', 'b (ok)'])
    expect(
      events.filter((event) => event.type === 'breaker_change').map((event) => (event as { to: string }).to),
    ).toEqual(['open'])
    mock.calls.length = 0
    for (let i = 0; i < 4; i++) await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['b', 'b', 'b', 'b'])
    // ... until recovery_time passes and a trial call decides (it succeeds: closed again).
    await clock.advance(30_000)
    mock.behaviours.a = () => textResult('a')
    mock.calls.length = 0
    for (let i = 0; i < 2; i++) await router.generate('g', prompt)
    expect(modelsCalled(mock.calls).sort()).toEqual(['a', 'b'])
    expect(
      events.filter((event) => event.type === 'breaker_change').map((event) => (event as { to: string }).to),
    ).toEqual(['open', 'half_open', 'closed'])

    // 4. b at its concurrency_limit (and a open again): the request skips e1 and is served by c in e2.
    mock.behaviours.a = fails(reset())
    for (let i = 0; i < 6; i++) await drive(clock, router.generate('g', prompt))
    expect((await router.state()).instances.find((instance) => instance.key === 'g.e1/mock:a')!.breaker.state).toBe(
      'open',
    )
    const heldB = holder()
    const heldC = holder()
    mock.behaviours.b = sequence(heldB.behaviour, textResult('b'))
    mock.behaviours.c = sequence(heldC.behaviour, textResult('c'))
    const onB = watch(router.generate('g', prompt))
    await clock.advance(0)
    const onC = watch(router.generate('g', prompt))
    await clock.advance(0)
    expect(heldB.open).toHaveLength(1)
    expect(heldC.open).toHaveLength(1)

    // 5. All saturated: the request waits for the first lease to come back ...
    const waiting = watch(router.generate('g', prompt))
    await clock.advance(100)
    expect(waiting.settled).toBe(false)
    heldC.open[0]!.resolve(textResult('c'))
    await clock.advance(0)
    expect(onC.settled).toBe(true)
    expect(waiting.value).toMatchObject({ routing: { instance: 'g.e2/mock:c' } })
    // ... or fails with RateLimitedError at its deadline.
    const held = holder()
    mock.behaviours.c = held.behaviour
    const onC2 = watch(router.generate('g', prompt))
    await clock.advance(0)
    const late = rejection(router.generate('g', prompt, { timeoutMs: 2000 }))
    await clock.advance(2000)
    expect(RateLimitedError.isInstance(await late)).toBe(true)
    heldB.open[0]!.resolve(textResult('b'))
    held.open[0]!.resolve(textResult('c'))
    await clock.advance(0)
    expect(onB.error ?? onC2.error).toBeUndefined()
  })
})
