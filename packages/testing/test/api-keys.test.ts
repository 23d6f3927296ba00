import { createAnthropic } from '@ai-sdk/anthropic'
import { APICallError } from '@ai-sdk/provider'
import { generateText } from 'ai'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMockUpstream, InvalidFaultsError, type MockUpstream } from '../src/index'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream({ seed: 3 })
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.reset()
  upstream.clearFaults()
  upstream.clearKeyFaults()
  upstream.clearReplies()
})

const openai = (apiKey: string, target = upstream) => new OpenAI({ baseURL: `${target.url}/v1`, apiKey, maxRetries: 0 })

/** A Chat Completions request as the official clients send it: the key in `Authorization: Bearer`. */
function chat(apiKey: string | undefined, model = 'gpt-4o', target = upstream): Promise<Response> {
  return fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey && { authorization: `Bearer ${apiKey}` }) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
}

/** A Messages request as Anthropic's clients send it: the key in `x-api-key`. */
function message(apiKey: string | undefined, model = 'claude-haiku-4-5'): Promise<Response> {
  return fetch(`${upstream.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      ...(apiKey && { 'x-api-key': apiKey }),
    },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  })
}

async function statuses(apiKey: string | undefined, count: number, model = 'gpt-4o'): Promise<number[]> {
  const result: number[] = []
  for (let index = 0; index < count; index++) {
    const response = await chat(apiKey, model)
    await response.arrayBuffer()
    result.push(response.status)
  }
  return result
}

describe('faults per API key', () => {
  it("keyFaults: a revoked key gets OpenAI's 401 through the official client; the other keys are served", async () => {
    const own = await createMockUpstream({ keyFaults: { 'sk-b': { status: 401 } } })
    try {
      const error = await openai('sk-b', own)
        .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
      expect(error).toMatchObject({ status: 401, type: 'invalid_request_error', code: 'invalid_api_key' })
      // Short keys are all stars, as in any message that names a key.
      expect((error as Error).message).toContain('Incorrect API key provided: ****.')
      const completion = await openai('sk-a', own).chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      })
      expect(completion.choices[0]?.message.content).toBe('mock reply from gpt-4o: x')
    } finally {
      await own.close()
    }
  })

  it('setKeyFaults: Anthropic requests with the key get authentication_error (fetch and the AI SDK)', async () => {
    upstream.setKeyFaults('sk-ant-revoked', { status: 401 })
    const response = await message('sk-ant-revoked')
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    })
    const anthropic = createAnthropic({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-ant-revoked' })
    const error = await generateText({ model: anthropic('claude-haiku-4-5'), prompt: 'x', maxRetries: 0 }).catch(
      (caught: unknown) => caught,
    )
    expect(APICallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ statusCode: 401, isRetryable: false })
    expect((await message('sk-ant-valid')).status).toBe(200)
  })

  it("403 takes each API's permission shape", async () => {
    upstream.setKeyFaults('sk-restricted', { status: 403 })
    const openAIError = await openai('sk-restricted')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught)
    expect(openAIError).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(openAIError).toMatchObject({ status: 403, type: 'invalid_request_error' })
    expect((openAIError as Error).message).toContain('insufficient permissions')
    expect(await (await message('sk-restricted')).json()).toMatchObject({
      type: 'error',
      error: { type: 'permission_error' },
    })
  })

  it("key rules come before the model's; one that does not apply falls through to them", async () => {
    upstream.setFaults('gpt-4o', { status: 503 })
    upstream.setFaults('*', { status: 500 })
    upstream.setKeyFaults('sk-b', { status: 429, times: 2 })
    upstream.setKeyFaults('sk-never', { status: 401, rate: 0 })
    expect(await statuses('sk-b', 3)).toEqual([429, 429, 503])
    expect(await statuses('sk-b', 1, 'other-model')).toEqual([500])
    expect(await statuses('sk-never', 2)).toEqual([503, 503])
    expect(await statuses('sk-a', 1)).toEqual([503])
    expect(await statuses(undefined, 1)).toEqual([503])
  })

  it('a key\'s sequence decides while it lasts ("ok" answers normally), then the model\'s rules apply', async () => {
    upstream.setFaults('gpt-4o', { status: 503 })
    upstream.setKeyFaults('sk-b', [{ sequence: [{ status: 429, retryAfter: 1 }, 'ok'] }])
    expect(await statuses('sk-b', 3)).toEqual([429, 200, 503])
  })

  it('rate draws repeat for the same seed', async () => {
    upstream.setKeyFaults('sk-b', { status: 429, rate: 0.5 })
    const first = await statuses('sk-b', 40)
    expect(first).toContain(429)
    expect(first).toContain(200)
    const twin = await createMockUpstream({ seed: 3, keyFaults: { 'sk-b': { status: 429, rate: 0.5 } } })
    try {
      const second: number[] = []
      for (let index = 0; index < 40; index++) second.push((await chat('sk-b', 'gpt-4o', twin)).status)
      expect(second).toEqual(first)
    } finally {
      await twin.close()
    }
  })

  it('apply on every route, the model list included', async () => {
    upstream.setKeyFaults('sk-b', { status: 401 })
    const list = await fetch(`${upstream.url}/v1/models`, { headers: { authorization: 'Bearer sk-b' } })
    expect(list.status).toBe(401)
    expect(await list.json()).toMatchObject({ error: { code: 'invalid_api_key' } })
    expect((await fetch(`${upstream.url}/v1/models`, { headers: { authorization: 'Bearer sk-a' } })).status).toBe(200)
  })

  it('read the bearer token first for OpenAI, x-api-key first for Anthropic, each falling back', async () => {
    upstream.setKeyFaults('sk-bearer', { status: 418 })
    upstream.setKeyFaults('sk-header', { status: 419 })
    const both = { authorization: 'Bearer sk-bearer', 'x-api-key': 'sk-header' }
    const send = (path: string, headers: Record<string, string>) =>
      fetch(`${upstream.url}${path}`, { method: 'POST', headers, body: JSON.stringify({ model: 'm', messages: [] }) })
    expect((await send('/v1/chat/completions', both)).status).toBe(418)
    expect((await send('/v1/messages', both)).status).toBe(419)
    expect((await send('/v1/chat/completions', { 'x-api-key': 'sk-header' })).status).toBe(419)
    expect((await send('/v1/messages', { authorization: 'bearer sk-bearer' })).status).toBe(418)
    expect(upstream.requests().map((request) => request.apiKey)).toEqual([
      'sk-bearer',
      'sk-header',
      'sk-header',
      'sk-bearer',
    ])
  })

  it("clearKeyFaults removes one key's rules or all; clearFaults leaves them", async () => {
    upstream.setKeyFaults('sk-b', { status: 401 })
    upstream.setKeyFaults('sk-c', { status: 401 })
    upstream.clearFaults()
    expect(await statuses('sk-b', 1)).toEqual([401])
    upstream.clearKeyFaults('sk-b')
    expect(await statuses('sk-b', 1)).toEqual([200])
    expect(await statuses('sk-c', 1)).toEqual([401])
    upstream.clearKeyFaults()
    expect(await statuses('sk-c', 1)).toEqual([200])
    upstream.setKeyFaults('sk-c', { status: 401 })
    upstream.setKeyFaults('sk-c', [])
    expect(await statuses('sk-c', 1)).toEqual([200])
  })

  it('invalid key faults throw an InvalidFaultsError with the key as path', async () => {
    const caught = (() => {
      try {
        upstream.setKeyFaults('sk-b', [{ status: 99 }, { headers: { 'bad name': 'x', 'x-ok': 'line\nbreak' } }])
      } catch (error) {
        return error
      }
    })()
    expect(InvalidFaultsError.isInstance(caught)).toBe(true)
    expect((caught as InvalidFaultsError).issues.map((issue) => issue.path)).toEqual([
      'sk-b[0].status',
      'sk-b[1].headers.bad name',
      'sk-b[1].headers.x-ok',
    ])
    expect(() => upstream.setKeyFaults('', { status: 401 })).toThrow(InvalidFaultsError)
    expect(() => upstream.setKeyFaults(' sk-b', { status: 401 })).toThrow(/API key/)
    await expect(createMockUpstream({ keyFaults: { 'sk-b': { times: -1 } } })).rejects.toThrow(InvalidFaultsError)
  })
})

describe('records and counters per API key', () => {
  it('record the key each request carried, count per key and filter requests by key', async () => {
    upstream.setKeyFaults('sk-b', { status: 429, times: 1 })
    await statuses('sk-a', 2)
    await statuses('sk-b', 2)
    await statuses('sk-b', 1, 'gpt-4o-mini')
    await statuses(undefined, 1)
    await (await message('sk-b')).arrayBuffer()

    const stats = upstream.stats()
    expect(Object.keys(stats.keys).sort()).toEqual(['sk-a', 'sk-b'])
    expect(stats.keys['sk-a']).toMatchObject({ arrivals: 2, completed: 2, failed: 0, faulted: 0, inFlight: 0 })
    expect(stats.keys['sk-b']).toMatchObject({
      arrivals: 4,
      completed: 3,
      failed: 1,
      faulted: 1,
      maxInFlight: 1,
      paths: { '/v1/chat/completions': 3, '/v1/messages': 1 },
    })
    expect(stats).toMatchObject({ arrivals: 7 })

    const sentWithB = upstream.requests({ apiKey: 'sk-b' })
    expect(sentWithB.map((request) => [request.model, request.status])).toEqual([
      ['gpt-4o', 429],
      ['gpt-4o', 200],
      ['gpt-4o-mini', 200],
      ['claude-haiku-4-5', 200],
    ])
    expect(sentWithB[0]).toMatchObject({ apiKey: 'sk-b', fault: 'status', outcome: 'failed' })
    expect(upstream.requests({ model: 'gpt-4o', apiKey: 'sk-b' })).toHaveLength(2)
    expect(upstream.requests({ model: 'gpt-4o' })).toHaveLength(5)
    expect(upstream.requests('gpt-4o').map((request) => request.apiKey)).toEqual([
      'sk-a',
      'sk-a',
      'sk-b',
      'sk-b',
      undefined,
    ])
    expect(upstream.requests({ apiKey: 'sk-unknown' })).toEqual([])

    upstream.reset()
    expect(upstream.stats().keys).toEqual({})
  })

  it('a reply function sees the key', async () => {
    upstream.setReply('*', (request) => `answered for ${request.apiKey ?? 'nobody'}`)
    const completion = await openai('sk-tenant-7').chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
    })
    expect(completion.choices[0]?.message.content).toBe('answered for sk-tenant-7')
  })
})

describe('401 without a key', () => {
  it('answers as each API does when no key is sent', async () => {
    upstream.setFaults('*', { status: 401 })
    const openAI = await chat(undefined)
    expect(await openAI.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        code: null,
        message: expect.stringMatching(/^You didn't provide an API key/),
      },
    })
    expect(await (await message(undefined)).json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    })
  })

  it('masks a long key as OpenAI does: the first 8 and last 4 characters', async () => {
    upstream.setFaults('*', { status: 401 })
    const body = (await (await chat('sk-proj-abcdefghijklmnop1234')).json()) as { error: { message: string } }
    expect(body.error.message).toContain('Incorrect API key provided: sk-proj-****************1234.')
  })
})

describe('rate-limit headers', () => {
  const reset = 'Wed, 21 Oct 2026 07:28:00 GMT'

  it('x-ratelimit-* durations and an HTTP-date retry-after reach fetch and the official client unchanged', async () => {
    const headers = {
      'retry-after': reset,
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-reset-tokens': '20ms',
    }
    upstream.setKeyFaults('sk-b', { status: 429, headers })
    const response = await chat('sk-b')
    expect(response.status).toBe(429)
    for (const [name, value] of Object.entries(headers)) expect(response.headers.get(name)).toBe(value)

    const error = await openai('sk-b')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    const received = (error as InstanceType<typeof OpenAI.RateLimitError>).headers
    expect(received.get('retry-after')).toBe(reset)
    expect(received.get('x-ratelimit-reset-requests')).toBe('6m0s')
    expect(received.get('x-ratelimit-reset-tokens')).toBe('20ms')
  })

  it("Anthropic's anthropic-ratelimit-* headers reach the AI SDK's APICallError", async () => {
    upstream.setFaults('claude-haiku-4-5', {
      status: 429,
      headers: { 'retry-after': reset, 'anthropic-ratelimit-requests-reset': '2026-10-21T07:28:00Z' },
    })
    const anthropic = createAnthropic({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-ant' })
    const error = await generateText({ model: anthropic('claude-haiku-4-5'), prompt: 'x', maxRetries: 0 }).catch(
      (caught: unknown) => caught,
    )
    expect((error as APICallError).responseHeaders).toMatchObject({
      'retry-after': reset,
      'anthropic-ratelimit-requests-reset': '2026-10-21T07:28:00Z',
    })
  })

  it('header names are case-insensitive: retryAfter replaces a Retry-After of headers, never doubles it', async () => {
    upstream.setFaults('gpt-4o', {
      status: 429,
      headers: { 'Retry-After': reset, 'X-Request-Id': 'req_1' },
      retryAfter: 2,
    })
    const response = await chat('sk-a')
    expect(response.headers.get('retry-after')).toBe('2')
    expect(response.headers.get('x-request-id')).toBe('req_1')
  })
})
