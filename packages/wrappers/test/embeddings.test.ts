/** The AI SDK's embed and embedMany through pools, task groups and wrappers, over real HTTP to the mock upstream. */
import { RequestRejectedError } from '@llmpool/router'
import { createMockUpstream, type MockUpstream, mockEmbedding } from '@llmpool/testing'
import { createProviderRegistry, embed, embedMany } from 'ai'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type LLMPool, UnknownWrapperError } from '../src/index'
import { fixture, openPool } from './helpers'

let upstream: MockUpstream
let pool: LLMPool

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(async () => {
  upstream.clearFaults()
  upstream.reset()
  // A pool per test: the rpm windows of one test must not carry into the next.
  pool = await openPool(upstream, fixture('embeddings'))
})
afterEach(() => pool.dispose())

const modelOf = (instance: unknown) => String(instance).slice(String(instance).indexOf(':') + 1)
/** What the upstream saw, per model: the inputs of each embeddings request. */
const seen = () =>
  upstream
    .requests()
    .map((request) => [request.model, request.path, (request.body as { input: string[] }).input.length])

describe.each([
  ['pool.embeddingModel(wrapper)', () => pool.embeddingModel('vectors_wrapper')],
  ['pool.embeddingModel(pool)', () => pool.embeddingModel('vectors')],
  ['pool.embeddingModel(task group)', () => pool.embeddingModel('embedders')],
  [
    'createProviderRegistry',
    () => createProviderRegistry({ llmpool: pool.provider }).embeddingModel('llmpool:vectors_wrapper'),
  ],
])('through %s', (_how, model) => {
  test('embed: one value, one upstream call, the vector of the instance that answered', async () => {
    const result = await embed({ model: model(), value: 'sunny day at the beach' })
    const instance = result.providerMetadata?.llmpool?.instance
    expect(instance).toMatch(/^embedders\.main\/mock:embed-[ab]$/)
    expect(result.embedding).toEqual(mockEmbedding(modelOf(instance), 'sunny day at the beach'))
    expect(result.usage.tokens).toBeGreaterThan(0)
    expect(seen()).toEqual([[modelOf(instance), '/v1/embeddings', 1]])
  })

  test('embedMany: the batch in one call; calls take turns over the instances', async () => {
    const values = ['rain', 'snow', 'wind']
    const first = await embedMany({ model: model(), values })
    const second = await embedMany({ model: model(), values })
    const models = [first, second].map((result) => modelOf(result.providerMetadata?.llmpool?.instance))
    expect(new Set(models)).toEqual(new Set(['embed-a', 'embed-b']))
    expect(first.embeddings).toEqual(values.map((value) => mockEmbedding(models[0]!, value)))
    expect(seen()).toEqual(models.map((name) => [name, '/v1/embeddings', 3]))
  })
})

describe('embeddings through a pool', () => {
  test('embedMany splits a batch larger than the models take (2048 a call) into calls routed one by one', async () => {
    const values = Array.from({ length: 2100 }, (_, index) => `text ${index}`)
    const result = await embedMany({ model: pool.embeddingModel('vectors'), values, maxParallelCalls: 1 })
    expect(result.embeddings).toHaveLength(2100)
    const sizes = upstream.requests().map((request) => (request.body as { input: string[] }).input.length)
    expect(sizes).toEqual([2048, 52])
    const models = upstream.requests().map((request) => request.model)
    expect(result.embeddings[0]).toEqual(mockEmbedding(models[0]!, 'text 0'))
    expect(result.embeddings[2099]).toEqual(mockEmbedding(models[1]!, 'text 2099'))
  })

  test('rpm_limit: 3 requests a minute per instance, then the backup echelon; the upstream saw exactly that', async () => {
    const model = pool.embeddingModel('vectors')
    const results = []
    for (let i = 0; i < 7; i++) results.push(await embed({ model, value: `value ${i}` }))
    const stats = upstream.stats().models
    expect([stats['embed-a']?.arrivals, stats['embed-b']?.arrivals, stats['embed-backup']?.arrivals]).toEqual([3, 3, 1])
    expect(results[6]!.providerMetadata?.llmpool?.instance).toBe('embedders.backup/mock:embed-backup')
  })

  test('an instance answering 5xx: every call still succeeds, on the other instance; its breaker opens', async () => {
    upstream.setFaults('embed-a', { status: 502 })
    const model = pool.embeddingModel('vectors')
    const results = await Promise.all(Array.from({ length: 3 }, (_, index) => embed({ model, value: `v${index}` })))
    expect(
      results.map((result) => modelOf(result.providerMetadata?.llmpool?.instance)).filter((name) => name === 'embed-a'),
    ).toEqual([])
    const state = await pool.router.state()
    expect(state.instances.find((instance) => instance.key.endsWith('embed-a'))?.breaker.state).toBe('open')
  })

  test('a 429 with retry-after rests the instance: it gets nothing until then', async () => {
    upstream.setFaults('embed-a', { status: 429, retryAfter: 20, times: 1 })
    const model = pool.embeddingModel('vectors')
    for (let i = 0; i < 3; i++) await embed({ model, value: `v${i}` })
    expect(upstream.stats().models['embed-a']?.arrivals).toBe(1)
    const state = await pool.router.state()
    expect(state.instances.find((instance) => instance.key.endsWith('embed-a'))?.cooldown).toMatchObject({
      kind: 'rate_limit',
    })
  })

  test('a bad input is refused (400) at once, and no breaker opens however often it comes', async () => {
    const model = pool.embeddingModel('vectors')
    for (let i = 0; i < 4; i++) {
      const error = await embed({ model, value: '', maxRetries: 0 }).catch((caught: unknown) => caught)
      expect(RequestRejectedError.isInstance(error)).toBe(true)
    }
    const state = await pool.router.state()
    expect(
      state.instances.every((instance) => instance.breaker.state === 'closed' && instance.cooldown === undefined),
    ).toBe(true)
    expect(upstream.stats().arrivals).toBe(4)
  })

  test('an unknown name throws UnknownWrapperError at once', () => {
    expect(() => pool.embeddingModel('nope')).toThrow(UnknownWrapperError)
  })
})
