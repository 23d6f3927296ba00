import { describe, expect, test } from 'vitest'
import { Router, type RouterOptions } from '../src/index'
import { configFrom, httpError, mockProvider, prompt, registry, textParts } from './helpers'

const groupConfig = () =>
  configFrom({
    '_registry.toml': registry(['p'], ['g']),
    'pools/p.toml': `
[pool]
name = "p"
task_groups = ["g"]
[pool.metrics]
interval = 10
retention_period = 3600
`,
    'task-groups/g.toml': `
[task_group]
name = "g"
[task_group.fallback]
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
`,
  })

/** A router over the pool `p` of groupConfig(), with the mock's models; `options` add to the router's. */
async function routerOver(mock: ReturnType<typeof mockProvider>, options: Partial<RouterOptions> = {}) {
  return new Router({
    config: await groupConfig(),
    providers: { mock: mock.definition },
    healthChecks: false,
    ...options,
  })
}

describe('metrics', () => {
  test('count requests, successes, failures by kind, fallbacks, latency and tokens per instance and pool', async () => {
    const mock = mockProvider({
      a: () => {
        throw httpError(503)
      },
    })
    const router = await routerOver(mock)
    for (let i = 0; i < 4; i++) await router.generate('p', prompt)
    const snapshot = router.metrics!.snapshot()
    const pool = snapshot.pools.p!
    expect(pool.requests).toBe(4)
    expect(pool.successes).toBe(4)
    expect(pool.fallbacks).toBe(2)
    expect(pool.latency.count).toBe(4)
    expect(pool.inputTokens).toBe(12)
    expect(pool.outputTokens).toBe(20)
    expect(pool.inFlight).toBe(0)
    const a = snapshot.instances['g.e1/mock:a']!
    expect(a.requests).toBe(2)
    expect(a.failures).toEqual({ server_error: 2 })
    const b = snapshot.instances['g.e1/mock:b']!
    expect(b.successes).toBe(4)
    expect(b.latency.p50Ms).toBeDefined()
    // Requests straight to the group are counted under the group.
    await router.generate('g', prompt)
    expect(router.metrics!.snapshot().taskGroups.g!.requests).toBe(1)
    await router.dispose()
  })

  test('a stream records time to first token and its tokens', async () => {
    const mock = mockProvider()
    const router = await routerOver(mock)
    const result = await router.stream('p', prompt)
    const parts = []
    for await (const part of result.stream) parts.push(part)
    const instance = router.metrics!.snapshot().instances[result.routing.instance]!
    expect(instance.timeToFirstToken.count).toBe(1)
    expect(instance.outputTokens).toBe(5)
    // The pool's figures get the tokens too: they come at the stream's end, after the request was answered.
    expect(router.metrics!.snapshot().pools.p).toMatchObject({ inputTokens: 3, outputTokens: 5, inFlight: 0 })
    expect(router.metrics!.totals().pools.p).toMatchObject({ inputTokens: 3, outputTokens: 5 })
    await router.dispose()
  })

  test("a stream's tokens count under its pool also when streams end out of order or are cancelled", async () => {
    const mock = mockProvider()
    const router = await routerOver(mock)
    const first = await router.stream('p', prompt)
    const second = await router.stream('p', prompt)
    const cancelled = await router.stream('p', prompt)
    await cancelled.stream.cancel()
    for await (const _ of second.stream);
    for await (const _ of first.stream);
    expect(router.metrics!.totals().pools.p).toMatchObject({ requests: 3, inputTokens: 6, outputTokens: 10 })
    // Straight to the group: counted under the group.
    for await (const _ of (await router.stream('g', prompt)).stream);
    expect(router.metrics!.totals().taskGroups.g).toMatchObject({ requests: 1, inputTokens: 3, outputTokens: 5 })
    await router.dispose()
  })
})

describe('response cache', () => {
  test('serves an equal call from the cache, not for another prompt or when opted out', async () => {
    const mock = mockProvider()
    const router = await routerOver(mock, {
      cache: { maxSize: 10, ttlMs: 60_000 },
    })
    const first = await router.generate('p', prompt)
    const second = await router.generate('p', { ...prompt, temperature: undefined })
    expect(mock.calls).toHaveLength(1)
    expect(second.content).toEqual(first.content)
    expect(second.providerMetadata?.llmpool).toMatchObject({ cached: true })
    await router.generate('p', { prompt: [{ role: 'user', content: [{ type: 'text', text: 'other' }] }] })
    expect(mock.calls).toHaveLength(2)
    await router.generate('p', prompt, { cache: false })
    expect(mock.calls).toHaveLength(3)
    await router.dispose()
  })

  test('replays a stream that finished cleanly, never one that failed', async () => {
    const mock = mockProvider()
    const router = await routerOver(mock, {
      cache: { maxSize: 10, ttlMs: 60_000 },
    })
    const read = async (stream: ReadableStream<unknown>) => {
      const parts: unknown[] = []
      for await (const part of stream) parts.push(part)
      return parts
    }
    const first = await read((await router.stream('p', prompt)).stream)
    const replay = await read((await router.stream('p', prompt)).stream)
    expect(mock.calls).toHaveLength(1)
    // The same parts; the finish says who answered, and that the cache did this time.
    const finishOf = (parts: unknown[]) => parts.at(-1) as { type: string; providerMetadata?: { llmpool?: unknown } }
    expect(finishOf(first)).toMatchObject({
      type: 'finish',
      providerMetadata: { llmpool: { instance: 'g.e1/mock:a', attempts: 1 } },
    })
    expect(finishOf(replay)).toMatchObject({
      type: 'finish',
      providerMetadata: { llmpool: { instance: 'g.e1/mock:a', attempts: 0, cached: true } },
    })
    const withoutRouting = (parts: unknown[]) =>
      parts.map((part) =>
        (part as { type: string }).type === 'finish' ? { ...(part as object), providerMetadata: undefined } : part,
      )
    expect(withoutRouting(replay)).toEqual(withoutRouting(first))

    const other = { prompt: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'broken' }] }] }
    mock.streamParts.a = () => textParts('a').filter((part) => part.type !== 'finish')
    mock.streamParts.b = mock.streamParts.a
    await read((await router.stream('p', other)).stream)
    await read((await router.stream('p', other)).stream)
    expect(mock.calls).toHaveLength(3)
    await router.dispose()
  })

  test('expires entries after the ttl and evicts the least recently used', async () => {
    let now = 1_000
    const clock = {
      now: () => now,
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    }
    const mock = mockProvider()
    const router = await routerOver(mock, {
      clock,
      cache: { maxSize: 2, ttlMs: 1_000 },
    })
    const ask = (text: string) =>
      router.generate('p', { prompt: [{ role: 'user', content: [{ type: 'text', text }] }] })
    await ask('one')
    await ask('two')
    await ask('one') // hit: "one" is now the most recent
    await ask('three') // evicts "two"
    expect(mock.calls).toHaveLength(3)
    await ask('one')
    expect(mock.calls).toHaveLength(3)
    await ask('two')
    expect(mock.calls).toHaveLength(4)
    now += 1_001
    await ask('one')
    expect(mock.calls).toHaveLength(5)
    await router.dispose()
  })
})
