/** Hedging (`fallback.hedge_after`): a slow call gets company; the first answer wins, the other is stopped. */
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import type { RouterEvent } from '../src/index'
import {
  after,
  disposeRouters,
  mockProvider,
  modelsCalled,
  partsStream,
  prompt,
  readAll,
  routerFor,
  setup,
  textParts,
  textResult,
  watch,
} from './helpers'

afterEach(disposeRouters)

const hedged = (hedgeAfter: number, maxAttempts = 3) => `
[task_group.fallback]
max_attempts = ${maxAttempts}
retry_delay = 0
hedge_after = ${hedgeAfter}
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
timeout = 30
`

async function instance(router: ReturnType<typeof routerFor>, key: string) {
  return (await router.state()).instances.find((candidate) => candidate.key === key)!
}

describe('Hedging', { timeout: 5000 }, () => {
  test('after hedge_after without an answer the next instance is called too; the faster answer wins and the slower call is aborted', async () => {
    const config = await setup({ groups: { g: hedged(1) } })
    const clock = new FakeClock()
    const mock = mockProvider(
      { a: after(clock, 5000, textResult('a')), b: after(clock, 100, textResult('b')) },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const started = clock.now()
    const request = watch(router.generate('g', prompt))
    await clock.advance(999)
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    await clock.advance(1)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect(events.find((event) => event.type === 'hedge')).toMatchObject({
      from: 'g.e1/mock:a',
      to: 'g.e1/mock:b',
      afterMs: 1000,
    })
    await clock.advance(100)
    expect(request.settled).toBe(true)
    const result = request.value!
    expect(result.routing.instance).toBe('g.e1/mock:b')
    expect(clock.now() - started).toBe(1100)
    // The loser's upstream call is aborted, and it is recorded as cancelled, counting against no one.
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
    expect(result.routing.attempts).toEqual([
      { instance: 'g.e1/mock:b', retry: 0, durationMs: 100, hedge: true },
      {
        instance: 'g.e1/mock:a',
        retry: 0,
        durationMs: 1100,
        cancelled: true,
        error: { kind: 'aborted', message: 'stopped: g.e1/mock:b answered first' },
      },
    ])
    expect((await instance(router, 'g.e1/mock:a')).breaker).toMatchObject({ state: 'closed', failures: 0 })
    expect((await instance(router, 'g.e1/mock:a')).health).toMatchObject({ consecutiveFailures: 0 })
    const metrics = router.metrics!.snapshot()
    expect(metrics.taskGroups.g).toMatchObject({ hedges: 1 })
    expect(metrics.instances['g.e1/mock:a']).toMatchObject({ cancelled: 1, failures: {} })
  })

  test('an answer before hedge_after: no hedge at all', async () => {
    const config = await setup({ groups: { g: hedged(1) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: after(clock, 900, textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock })
    const request = watch(router.generate('g', prompt))
    await clock.advance(5000)
    expect(request.value!.routing.instance).toBe('g.e1/mock:a')
    expect(modelsCalled(mock.calls)).toEqual(['a'])
  })

  test('the first call may still win after the hedge started: then the hedged call is the one stopped', async () => {
    const config = await setup({ groups: { g: hedged(1) } })
    const clock = new FakeClock()
    const mock = mockProvider(
      { a: after(clock, 1200, textResult('a')), b: after(clock, 5000, textResult('b')) },
      { clock },
    )
    const router = routerFor(config, mock, { clock })
    const request = watch(router.generate('g', prompt))
    await clock.advance(1200)
    expect(request.value!.routing.instance).toBe('g.e1/mock:a')
    expect(mock.calls[1]!.call.abortSignal?.aborted).toBe(true)
    expect(request.value!.routing.attempts.map((attempt) => [attempt.instance, attempt.cancelled ?? false])).toEqual([
      ['g.e1/mock:a', false],
      ['g.e1/mock:b', true],
    ])
  })

  test('a hedge is one of the instances max_attempts allows: with max_attempts = 1 there is none', async () => {
    const config = await setup({ groups: { g: hedged(1, 1) } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: after(clock, 3000, textResult('a')) }, { clock })
    const router = routerFor(config, mock, { clock })
    const request = watch(router.generate('g', prompt))
    await clock.advance(3000)
    expect(request.value!.routing.instance).toBe('g.e1/mock:a')
    expect(modelsCalled(mock.calls)).toEqual(['a'])
  })

  test('a pool hedges too ([pool.fallback] hedge_after), and streams hedge on the time to the first content', async () => {
    const config = await setup({
      groups: { g: hedged(100).replace('hedge_after = 100\n', '') },
      pools: { p: 'task_groups = ["g"]\n[pool.fallback]\nmax_instance_attempts = 2\nhedge_after = 0.5' },
    })
    const clock = new FakeClock()
    const mock = mockProvider({}, { clock })
    const slowHead: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }]
    mock.streamParts.a = (call) => partsStream(slowHead, { hang: true, signal: call.abortSignal })
    mock.streamParts.b = () => textParts('b')
    const router = routerFor(config, mock, { clock })
    const request = watch(router.stream('p', prompt))
    await clock.advance(500)
    expect(request.settled).toBe(true)
    expect(request.value!.routing.instance).toBe('g.e1/mock:b')
    const parts = await readAll(request.value!.stream)
    expect(parts.at(-1)).toMatchObject({ type: 'finish' })
    expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
  })
})
