import { createOpenAI } from '@ai-sdk/openai'
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import { generateText, stepCountIs, streamText, tool } from 'ai'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createMockUpstream, type MockUpstream } from '../src/index'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream({ models: ['listed-model'] })
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.reset()
  upstream.clearFaults()
  upstream.clearReplies()
})

const openai = () => createOpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'x' })

describe('OpenAI Chat Completions through the AI SDK', () => {
  it('generateText gets the deterministic echo reply and usage', async () => {
    const result = await generateText({ model: openai().chat('gpt-4o'), prompt: 'hello mock' })
    expect(result.text).toBe('mock reply from gpt-4o: hello mock')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.inputTokens).toBeGreaterThan(0)
    expect(result.usage.outputTokens).toBeGreaterThan(0)
    expect(upstream.stats().models['gpt-4o']).toMatchObject({
      arrivals: 1,
      completed: 1,
      paths: { '/v1/chat/completions': 1 },
    })
  })

  it('streamText streams the same text in pieces, with usage', async () => {
    const result = streamText({ model: openai().chat('gpt-4o'), prompt: 'stream this please' })
    const pieces: string[] = []
    for await (const piece of result.textStream) pieces.push(piece)
    expect(pieces.join('')).toBe('mock reply from gpt-4o: stream this please')
    expect(pieces.length).toBeGreaterThan(3)
    expect((await result.usage).outputTokens).toBeGreaterThan(0)
    const [request] = upstream.requests('gpt-4o')
    expect(request).toMatchObject({ stream: true, outcome: 'completed', status: 200, api: 'openai' })
  })

  it('answers with a configured reply: a string, then a function of the request', async () => {
    upstream.setReply('gpt-4o', 'fixed answer')
    expect((await generateText({ model: openai().chat('gpt-4o'), prompt: 'x' })).text).toBe('fixed answer')
    upstream.setReply('gpt-4o', (request) => `${request.model} saw ${request.lastUserText.length} characters`)
    expect((await generateText({ model: openai().chat('gpt-4o'), prompt: 'four' })).text).toBe(
      'gpt-4o saw 4 characters',
    )
    upstream.setReply('*', { content: 'from the wildcard', chunks: ['from ', 'the ', 'wildcard'] })
    const streamed = streamText({ model: openai().chat('other-model'), prompt: 'x' })
    expect(await streamed.text).toBe('from the wildcard')
  })

  it('a user message "call tool NAME {json}" makes the model call that tool, then answer its result', async () => {
    const result = await generateText({
      model: openai().chat('gpt-4o'),
      prompt: 'call tool weather {"city":"Paris"}',
      tools: {
        weather: tool({
          description: 'Weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, forecast: 'sunny' }),
        }),
      },
      stopWhen: stepCountIs(3),
    })
    expect(result.steps).toHaveLength(2)
    expect(result.steps[0]?.finishReason).toBe('tool-calls')
    expect(result.steps[0]?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Paris' } }])
    expect(result.steps[0]?.toolResults).toMatchObject([{ output: { city: 'Paris', forecast: 'sunny' } }])
    expect(result.text).toBe('mock reply from gpt-4o: call tool weather {"city":"Paris"}')
  })

  it('streams a configured tool call', async () => {
    upstream.setReply('gpt-4o', { toolCalls: [{ name: 'lookup', arguments: { query: 'llmpool routing' } }] })
    const result = streamText({
      model: openai().chat('gpt-4o'),
      prompt: 'anything',
      tools: { lookup: tool({ inputSchema: z.object({ query: z.string() }) }) },
    })
    expect(await result.toolCalls).toMatchObject([{ toolName: 'lookup', input: { query: 'llmpool routing' } }])
    expect(await result.finishReason).toBe('tool-calls')
  })
})

describe('OpenAI-compatible provider', () => {
  it('generateText and streamText work against the mock', async () => {
    const provider = createOpenAICompatible({
      name: 'mock',
      baseURL: `${upstream.url}/v1`,
      apiKey: 'x',
      includeUsage: true,
    })
    expect((await generateText({ model: provider('llama-3'), prompt: 'hi' })).text).toBe('mock reply from llama-3: hi')
    const streamed = streamText({ model: provider('llama-3'), prompt: 'streamed hi' })
    expect(await streamed.text).toBe('mock reply from llama-3: streamed hi')
    expect((await streamed.usage).inputTokens).toBeGreaterThan(0)
    expect(upstream.stats().models['llama-3']?.completed).toBe(2)
  })
})

describe('the official openai client', () => {
  const client = () => new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'x', maxRetries: 0 })

  it('chat.completions.create returns the OpenAI shape', async () => {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'shape check' }],
    })
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'mock reply from gpt-4o-mini: shape check' },
          finish_reason: 'stop',
        },
      ],
    })
    expect(completion.id).toMatch(/^chatcmpl-/)
    expect(completion.created).toBeTypeOf('number')
    const usage = completion.usage
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
  })

  it('stream: true yields role, content pieces, a finish chunk and a usage chunk', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream me' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant' })
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe('mock reply from gpt-4o-mini: stream me')
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop')
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } })
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true)
  })

  it('lists models: configured and seen ones', async () => {
    await client().chat.completions.create({ model: 'seen-model', messages: [{ role: 'user', content: 'x' }] })
    const ids = []
    for await (const model of client().models.list()) ids.push(model.id)
    expect(ids).toEqual(expect.arrayContaining(['listed-model', 'seen-model']))
    expect((await client().models.retrieve('seen-model')).id).toBe('seen-model')
  })
})

describe('HTTP surface', () => {
  it('answers without the /v1 prefix, 404 for unknown paths, 405 for wrong methods and 400 for bad bodies', async () => {
    const post = (path: string, body: string) =>
      fetch(`${upstream.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect((await post('/chat/completions', JSON.stringify({ model: 'm', messages: [] }))).status).toBe(200)
    expect((await post('/v2/unknown', '{}')).status).toBe(404)
    expect((await fetch(`${upstream.url}/v1/chat/completions`)).status).toBe(405)
    const notJson = await post('/v1/chat/completions', 'not json')
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
    expect((await post('/v1/chat/completions', '{"messages":[]}')).status).toBe(400)
    expect(upstream.stats().paths).toMatchObject({ '/chat/completions': 1, '/v1/chat/completions': 2 })
  })

  it('a reply function that throws (or rejects) gets a 500 naming its error', async () => {
    upstream.setReply('broken', () => {
      throw new Error('no reply today')
    })
    upstream.setReply('rejects', async () => Promise.reject(new Error('not now')))
    const send = (model: string) =>
      fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model, messages: [] }) })
    const thrown = await send('broken')
    expect(thrown.status).toBe(500)
    expect(await thrown.json()).toMatchObject({ error: { message: expect.stringContaining('no reply today') } })
    expect((await send('rejects')).status).toBe(500)
    expect(upstream.stats()).toMatchObject({ failed: 2 })
  })

  it('requireApiKey answers 401 without a key and accepts either header', async () => {
    const strict = await createMockUpstream({ requireApiKey: 'secret-key' })
    try {
      const send = (headers: Record<string, string>) =>
        fetch(`${strict.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: 'm', messages: [] }),
        })
      const missing = await send({})
      expect(missing.status).toBe(401)
      expect(await missing.json()).toMatchObject({
        error: { type: 'invalid_request_error', code: null, message: expect.stringContaining("didn't provide") },
      })
      const wrong = await send({ authorization: 'Bearer sk-wrong-0123456789' })
      expect(wrong.status).toBe(401)
      expect(await wrong.json()).toMatchObject({
        error: { code: 'invalid_api_key', message: expect.stringContaining('sk-wrong*******6789') },
      })
      expect((await send({ authorization: 'Bearer secret-key' })).status).toBe(200)
      expect((await send({ 'x-api-key': 'secret-key' })).status).toBe(200)
      expect(strict.stats()).toMatchObject({ arrivals: 4, failed: 2, completed: 2 })
    } finally {
      await strict.close()
    }
  })

  it('records bodies, headers and outcomes, bounded per model', async () => {
    const small = await createMockUpstream({ maxRecordedRequests: 3 })
    try {
      for (let index = 0; index < 10; index++) {
        await fetch(`${small.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer k' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `n${index}` }] }),
        })
      }
      const requests = small.requests('m')
      expect(
        requests.map((request) => (request.body as { messages: { content: string }[] }).messages[0]?.content),
      ).toEqual(['n7', 'n8', 'n9'])
      expect(requests[0]).toMatchObject({
        model: 'm',
        method: 'POST',
        path: '/v1/chat/completions',
        outcome: 'completed',
        status: 200,
      })
      expect(requests[0]?.headers.authorization).toBe('Bearer k')
      expect(requests[0]?.endedAt).toBeGreaterThanOrEqual(requests[0]?.arrivedAt ?? Infinity)
      expect(small.stats().models.m?.arrivals).toBe(10)
      small.reset()
      expect(small.stats()).toMatchObject({ arrivals: 0, models: {} })
      expect(small.requests()).toEqual([])
    } finally {
      await small.close()
    }
  })
})
