import { createOpenAI } from '@ai-sdk/openai'
import { embed, embedMany } from 'ai'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMockUpstream, MOCK_EMBEDDING_DIMENSIONS, type MockUpstream, mockEmbedding } from '../src/index'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.reset()
  upstream.clearFaults()
})

const client = () => new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })

describe('POST /v1/embeddings', () => {
  it('answers deterministic unit vectors, one per input, in OpenAI’s shape', async () => {
    const response = await fetch(`${upstream.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], encoding_format: 'float' }),
    })
    const body = (await response.json()) as {
      object: string
      model: string
      data: { object: string; index: number; embedding: number[] }[]
      usage: { prompt_tokens: number; total_tokens: number }
    }
    expect(response.status).toBe(200)
    expect(body).toMatchObject({
      object: 'list',
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    }) // ceil(characters / 4) per input
    expect(body.data.map((item) => [item.object, item.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ])
    expect(body.data[0]!.embedding).toEqual(mockEmbedding('text-embedding-3-small', 'alpha'))
    expect(body.data[0]!.embedding).toHaveLength(MOCK_EMBEDDING_DIMENSIONS)
    const norm = Math.hypot(...body.data[1]!.embedding)
    expect(norm).toBeCloseTo(1, 5)
    // Another model, another vector: a test can tell which model answered.
    expect(mockEmbedding('other-model', 'alpha')).not.toEqual(body.data[0]!.embedding)
  })

  it('the openai client (base64 by default) decodes the same float32 vectors; dimensions are honoured', async () => {
    const result = await client().embeddings.create({ model: 'm', input: 'hello', dimensions: 12 })
    expect(result.data[0]!.embedding).toEqual(mockEmbedding('m', 'hello', 12))
    const [request] = upstream.requests('m')
    expect(request).toMatchObject({
      path: '/v1/embeddings',
      api: 'openai',
      outcome: 'completed',
      status: 200,
      apiKey: 'sk-test',
    })
    expect(request!.body).toMatchObject({ input: 'hello', encoding_format: 'base64', dimensions: 12 })
  })

  it('serves AI SDK embed and embedMany', async () => {
    const model = createOpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'x' }).embeddingModel('text-embedding-3-small')
    const one = await embed({ model, value: 'sunny day' })
    expect(one.embedding).toEqual(mockEmbedding('text-embedding-3-small', 'sunny day'))
    const many = await embedMany({ model, values: ['a', 'b', 'c'] })
    expect(many.embeddings).toEqual(['a', 'b', 'c'].map((text) => mockEmbedding('text-embedding-3-small', text)))
    expect(many.usage.tokens).toBe(3)
  })

  it('takes token arrays', async () => {
    const result = await client().embeddings.create({ model: 'm', input: [[1, 2, 3], [4]], encoding_format: 'float' })
    expect(result.data.map((item) => item.embedding)).toEqual([
      mockEmbedding('m', 'tokens:1,2,3'),
      mockEmbedding('m', 'tokens:4'),
    ])
    expect(result.usage.prompt_tokens).toBe(4)
  })

  it('refuses what OpenAI refuses with a 400 naming the parameter, before any fault', async () => {
    upstream.setFaults('m', { status: 500 })
    for (const [body, param] of [
      [{ model: 'm', input: '' }, 'input'],
      [{ model: 'm', input: [] }, 'input'],
      [{ model: 'm', input: [1, 'x'] }, 'input'],
      [{ model: 'm', input: 'x', encoding_format: 'hex' }, 'encoding_format'],
      [{ model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ input: 'x' }, 'model'],
    ] as const) {
      const response = await fetch(`${upstream.url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { param: string; type: string } }).error).toMatchObject({
        param,
        type: 'invalid_request_error',
      })
    }
    expect(upstream.stats()).toMatchObject({ arrivals: 6, failed: 6, faulted: 0 })
  })

  it('applies the model’s faults: a 429 with retry-after, a sequence, a cut body', async () => {
    upstream.setFaults('m', { sequence: [{ status: 429, retryAfter: 7 }, { streamCutAfterChunks: 0 }, 'ok'] })
    const first = await fetch(`${upstream.url}/v1/embeddings`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', input: 'x' }),
    })
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('7')
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded')
    await expect(client().embeddings.create({ model: 'm', input: 'x' })).rejects.toThrow()
    expect((await client().embeddings.create({ model: 'm', input: 'x' })).data).toHaveLength(1)
    await upstream.whenIdle()
    expect(upstream.requests('m').map((request) => [request.status, request.outcome, request.fault])).toEqual([
      [429, 'failed', 'status'],
      [200, 'failed', 'stream_cut'],
      [200, 'completed', undefined],
    ])
  })
})
