import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { AllAttemptsFailedError } from '../src/index'
import {
  disposeRouters,
  failing,
  fails,
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

const down = (models: string[], extra = '') => `
[task_group.fallback]
max_attempts = 10
retry_delay = 0
${extra}
${models.map((model, index) => `[task_group.echelons.e${index + 1}]\nmodels = ["mock:${model}"]\nmax_retries = 0`).join('\n')}
`

describe('A request to a task group', { timeout: 5000 }, () => {
  test('echelon_down without fallback_groups: the best echelon (lowest priority), then the others by priority', async () => {
    const config = await setup({
      groups: {
        g: `
[task_group.fallback]
max_attempts = 10
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a"]
priority = 2
max_retries = 0
[task_group.echelons.e2]
models = ["mock:b"]
priority = 1
max_retries = 0
[task_group.echelons.e3]
models = ["mock:c"]
priority = 3
max_retries = 0
`,
      },
    })
    const mock = mockProvider(failing('a', 'b', 'c'))
    const error = await rejection(routerFor(config, mock).generate('g', prompt))
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(modelsCalled(mock.calls)).toEqual(['b', 'a', 'c'])
  })

  test('echelon_down with fallback_groups: the best echelon, then the entries in order, and no other own echelon', async () => {
    const config = await setup({
      groups: {
        g: down(['a', 'b', 'c'], 'fallback_groups = ["h", "g.e3"]'),
        h: down(['x', 'y']),
      },
    })
    const mock = mockProvider(failing('a', 'b', 'c', 'x', 'y'))
    await rejection(routerFor(config, mock).generate('g', prompt))
    // `h` names all of h's echelons by priority; `g.e3` one echelon; g.e2 is not in the chain.
    expect(modelsCalled(mock.calls)).toEqual(['a', 'x', 'y', 'c'])
  })

  test('group_fallback: all its echelons by priority, then the echelons of the fallback entries', async () => {
    const config = await setup({
      groups: {
        g: down(['a', 'b'], 'strategy = "group_fallback"\nfallback_groups = ["h.e2"]').replace(
          '[task_group.fallback]',
          'fallback_strategy = "group_fallback"\n[task_group.fallback]',
        ),
        h: down(['x', 'y']),
      },
    })
    const mock = mockProvider(failing('a', 'b', 'x', 'y'))
    await rejection(routerFor(config, mock).generate('g', prompt))
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'y'])
  })

  test('no echelon appears twice in a chain, however often the entries name it', async () => {
    const config = await setup({
      groups: {
        g: down(['a', 'b'], 'fallback_groups = ["g", "h.e1", "h", "g.e2"]'),
        h: down(['x', 'y']),
      },
    })
    const mock = mockProvider(failing('a', 'b', 'x', 'y'))
    await rejection(routerFor(config, mock).generate('g', prompt))
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'x', 'y'])
  })

  test("the document's fast_group walks echelon1 → echelon2 → echelon3", async () => {
    const config = await setup({
      groups: {
        fast_group: `
fallback_strategy = "echelon_down"
[task_group.fallback]
strategy = "echelon_down"
fallback_groups = ["fast_group.echelon2", "fast_group.echelon3"]
max_attempts = 3
retry_delay = 0
[task_group.echelons.echelon1]
models = ["mock:gpt-4o"]
priority = 1
max_retries = 0
[task_group.echelons.echelon2]
models = ["mock:gpt-4o-mini"]
priority = 2
max_retries = 0
[task_group.echelons.echelon3]
models = ["mock:gpt-3.5-turbo"]
priority = 3
max_retries = 0
`,
      },
    })
    const mock = mockProvider(failing('gpt-4o', 'gpt-4o-mini'))
    const result = await routerFor(config, mock).generate('fast_group', prompt)
    expect(result.routing.instance).toBe('fast_group.echelon3/mock:gpt-3.5-turbo')
    expect(result.routing.attempts.map((attempt) => attempt.instance)).toEqual([
      'fast_group.echelon1/mock:gpt-4o',
      'fast_group.echelon2/mock:gpt-4o-mini',
      'fast_group.echelon3/mock:gpt-3.5-turbo',
    ])
  })

  const twoAndOne = `
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b", "mock:c"]
max_retries = 0
[task_group.echelons.e2]
models = ["mock:d"]
max_retries = 0
`

  test('within an echelon, requests take the instances in turn', async () => {
    const config = await setup({ groups: { g: twoAndOne } })
    const mock = mockProvider()
    const router = routerFor(config, mock)
    for (let i = 0; i < 6; i++) await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  test("a failed instance's echelon mates are tried before the chain moves down, and the turn still moves by one per request", async () => {
    const config = await setup({ groups: { g: twoAndOne.replace('max_attempts = 3', 'max_attempts = 4') } })
    const mock = mockProvider({ a: fails(httpError(503)), b: fails(httpError(503)), c: fails(httpError(503)) })
    const router = routerFor(config, mock)
    const first = await router.generate('g', prompt)
    expect(first.routing.instance).toBe('g.e2/mock:d')
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'c', 'd'])
    mock.calls.length = 0
    delete mock.behaviours.b
    // The next request starts one instance further (at b), however many instances the first one tried.
    expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:b')
    expect(modelsCalled(mock.calls)).toEqual(['b'])
  })

  test('max_attempts bounds the number of instances tried, not of calls', async () => {
    const config = await setup({
      groups: {
        g: twoAndOne.replace('max_attempts = 3', 'max_attempts = 2').replaceAll('max_retries = 0', 'max_retries = 1'),
      },
    })
    const mock = mockProvider(failing('a', 'b', 'c', 'd'))
    // 500s are retried here (retry_on_errors lists server_error).
    const error = await rejection(
      routerFor(config, mock, { random: () => 0, retryOn: ['server_error'] }).generate('g', prompt),
    )
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'a', 'b', 'b'])
    expect(error.attempts.map((attempt: { retry: number }) => attempt.retry)).toEqual([0, 1, 0, 1])
  })

  test('retry_delay is waited when the request leaves an exhausted echelon, not between instances of one echelon', async () => {
    const config = await setup({
      groups: {
        g: twoAndOne.replace('retry_delay = 0', 'retry_delay = 2').replace('max_attempts = 3', 'max_attempts = 4'),
      },
    })
    const clock = new FakeClock()
    const mock = mockProvider(failing('a', 'b', 'c'), { clock })
    const start = clock.now()
    const request = watch(routerFor(config, mock, { clock }).generate('g', prompt))
    await clock.advance(1999)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'c'])
    expect(mock.calls.map((call) => call.at! - start)).toEqual([0, 0, 0])
    await clock.advance(1)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'c', 'd'])
    expect(mock.calls[3]!.at! - start).toBe(2000)
    expect(request.settled).toBe(true)
    expect(request.error).toBeUndefined()
  })

  test('retry_delay is not waited when the chain has nothing left: the request fails at once', async () => {
    const config = await setup({ groups: { g: down(['a']).replace('retry_delay = 0', 'retry_delay = 5') } })
    const clock = new FakeClock()
    const mock = mockProvider(failing('a'))
    const error = await rejection(routerFor(config, mock, { clock }).generate('g', prompt))
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(clock.pendingTimers).toBe(0)
  })
})
