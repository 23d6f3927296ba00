import { type ConfigStore, createConfigStore } from '@llmpool/config'
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { NoInstanceAvailableError } from '../src/index'
import {
  after,
  configDirectory,
  disposeRouters,
  fails,
  holder,
  httpError,
  layout,
  mockProvider,
  modelsCalled,
  prompt,
  rejection,
  routerFor,
  textResult,
  watch,
} from './helpers'

const stores: ConfigStore[] = []
afterEach(async () => {
  await disposeRouters()
  await Promise.all(stores.splice(0).map((store) => store.dispose()))
})

const group = (
  echelons: Record<string, string[]>,
  options: { timeout?: number; maxAttempts?: number; priorities?: Record<string, number> } = {},
) => `
[task_group.circuit_breaker]
failure_threshold = 1
recovery_time = 60
[task_group.fallback]
max_attempts = ${options.maxAttempts ?? 3}
retry_delay = 0
${Object.entries(echelons)
  .map(
    ([name, models]) =>
      `[task_group.echelons.${name}]\nmodels = [${models.map((model) => `"mock:${model}"`).join(', ')}]\nmax_retries = 0\ntimeout = ${options.timeout ?? 30}\npriority = ${options.priorities?.[name] ?? Number(name.slice(1))}`,
  )
  .join('\n')}
`

async function storeOf(groups: Record<string, string>) {
  const directory = configDirectory(layout({ groups }))
  const store = await createConfigStore({ directory, env: {}, watch: false })
  stores.push(store)
  const rewrite = async (next: Record<string, string>) => {
    configDirectory(layout({ groups: next }), directory)
    const outcome = await store.reload()
    expect(outcome.status).toBe('applied')
  }
  return { store, rewrite }
}

async function breakerOf(router: ReturnType<typeof routerFor>, key: string) {
  return (await router.state()).instances.find((instance) => instance.key === key)?.breaker.state
}

describe('Hot reload', { timeout: 5000 }, () => {
  test('an instance whose definition did not change keeps its state across a reload: an open breaker stays open', async () => {
    const { store, rewrite } = await storeOf({ g: group({ e1: ['a'] }), h: group({ e1: ['x'] }) })
    const mock = mockProvider({ a: fails(httpError(503)) })
    const router = routerFor(store, mock)
    await rejection(router.generate('g', prompt))
    expect(await breakerOf(router, 'g.e1/mock:a')).toBe('open')
    await rewrite({ g: group({ e1: ['a'] }), h: group({ e1: ['x'] }, { timeout: 10 }) })
    expect(await breakerOf(router, 'g.e1/mock:a')).toBe('open')
    mock.calls.length = 0
    expect(NoInstanceAvailableError.isInstance(await rejection(router.generate('g', prompt)))).toBe(true)
    expect(mock.calls).toHaveLength(0)
  })

  test('an instance whose settings changed but whose identity did not keeps its state; a new key makes it new', async () => {
    const { store, rewrite } = await storeOf({ g: group({ e1: ['a'] }) })
    const mock = mockProvider({ a: fails(httpError(503)) })
    const router = routerFor(store, mock)
    await rejection(router.generate('g', prompt))
    expect(await breakerOf(router, 'g.e1/mock:a')).toBe('open')
    // timeout (and limits, temperature, ...) are settings: the breaker stays open.
    await rewrite({ g: group({ e1: ['a'] }, { timeout: 10 }) })
    expect(await breakerOf(router, 'g.e1/mock:a')).toBe('open')
    expect(router.plan.entries.get('g')!.route).toMatchObject({
      steps: [{ candidates: [{ attemptTimeoutMs: 10_000 }] }],
    })
    // The key is part of the identity: another key is another instance, with fresh state.
    await rewrite({
      g: group({ e1: ['a'] }, { timeout: 10 }).replace('max_retries = 0', 'max_retries = 0\napi_key = "sk-other-key"'),
    })
    expect(await breakerOf(router, 'g.e1/mock:a')).toBe('closed')
    mock.behaviours.a = () => textResult('a')
    expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:a')
  })

  test('new limits apply to the counts an instance already has: rpm_limit 2 with 2 used, then 3 → one more; then 1 → none', async () => {
    const limited = (rpm: number) =>
      group({ e1: ['a'] }).replace('max_retries = 0', `max_retries = 0\nrpm_limit = ${rpm}`)
    const { store, rewrite } = await storeOf({ g: limited(2) })
    const clock = new FakeClock()
    const mock = mockProvider({}, { clock })
    const router = routerFor(store, mock, { clock })
    for (let i = 0; i < 2; i++) await router.generate('g', prompt)
    await expect(router.generate('g', prompt, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'rate_limited' })
    await rewrite({ g: limited(3) })
    expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:a')
    await expect(router.generate('g', prompt, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'rate_limited' })
    await rewrite({ g: limited(1) })
    await expect(router.generate('g', prompt, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'rate_limited' })
    const state = (await router.state()).instances[0]!
    expect(state.limits).toMatchObject({ kind: 'sliding_window', limit: 1 })
    expect(mock.calls).toHaveLength(3)
  })

  test('a removed instance drains: its call in flight completes, new calls do not go there', async () => {
    const { store, rewrite } = await storeOf({ g: group({ e1: ['a', 'b'] }) })
    const held = holder()
    const mock = mockProvider({ a: held.behaviour })
    const router = routerFor(store, mock)
    const inFlight = watch(router.generate('g', prompt))
    await new Promise((resolve) => setImmediate(resolve))
    expect(modelsCalled(mock.calls)).toEqual(['a'])
    await rewrite({ g: group({ e1: ['b'] }) })
    for (let i = 0; i < 3; i++) await router.generate('g', prompt)
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b', 'b', 'b'])
    expect((await router.state()).instances.map((instance) => instance.key)).toEqual(['g.e1/mock:b'])
    held.open[0]!.resolve(textResult('a, finished'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(inFlight.error).toBeUndefined()
    expect(inFlight.value).toMatchObject({
      content: [{ type: 'text', text: 'a, finished' }],
      routing: { instance: 'g.e1/mock:a' },
    })
  })

  test('a request in flight during a reload finishes on the configuration it started with', async () => {
    const { store, rewrite } = await storeOf({ g: group({ e1: ['a'], e2: ['b'] }, { maxAttempts: 3 }) })
    const clock = new FakeClock()
    const mock = mockProvider({ a: after(clock, 100, httpError(503)) })
    const router = routerFor(store, mock, { clock })
    const inFlight = watch(router.generate('g', prompt))
    await clock.advance(50)
    // The new configuration tries one instance only, and puts a new echelon z first; a and b are unchanged.
    await rewrite({ g: group({ e0: ['z'], e1: ['a'], e2: ['b'] }, { maxAttempts: 1, priorities: { e0: 0 } }) })
    await clock.advance(50)
    expect(inFlight.error).toBeUndefined()
    expect(inFlight.value).toMatchObject({ routing: { instance: 'g.e2/mock:b' } })
    expect(modelsCalled(mock.calls)).toEqual(['a', 'b'])
    expect((await router.generate('g', prompt)).routing.instance).toBe('g.e0/mock:z')
  })
})
