import { createOpenAI } from '@ai-sdk/openai'
import { APICallError } from '@ai-sdk/provider'
import { generateText, streamText } from 'ai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMockUpstream, InvalidFaultsError, type MockUpstream } from '../src/index'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream({ seed: 7 })
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.reset()
  upstream.clearFaults()
  upstream.clearReplies()
})

const model = (id = 'gpt-4o') => createOpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'x' }).chat(id)

function chat(
  target: MockUpstream,
  id = 'gpt-4o',
  extra: Record<string, unknown> = {},
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: id,
      messages: [{ role: 'user', content: 'one two three four five six seven eight' }],
      ...extra,
    }),
    ...init,
  })
}

async function statuses(target: MockUpstream, count: number, id = 'gpt-4o'): Promise<number[]> {
  const result: number[] = []
  for (let index = 0; index < count; index++) {
    const response = await chat(target, id)
    await response.arrayBuffer()
    result.push(response.status)
  }
  return result
}

describe('status faults', () => {
  it('answers the status with retry-after and retry-after-ms headers and an OpenAI error body', async () => {
    upstream.setFaults('gpt-4o', { status: 429, retryAfter: 3, retryAfterMs: 2500 })
    const response = await chat(upstream)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('3')
    expect(response.headers.get('retry-after-ms')).toBe('2500')
    expect(await response.json()).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded', message: expect.any(String) },
    })
    expect(upstream.requests('gpt-4o')[0]).toMatchObject({ outcome: 'failed', status: 429, fault: 'status' })
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ failed: 1, faulted: 1, completed: 0 })
  })

  it.each([500, 503, 529, 400, 401, 404])(
    'HTTP %i reaches the AI SDK as an APICallError with that status',
    async (status) => {
      upstream.setFaults('gpt-4o', { status })
      const error = await generateText({ model: model(), prompt: 'x', maxRetries: 0 }).catch(
        (caught: unknown) => caught,
      )
      expect(APICallError.isInstance(error)).toBe(true)
      expect((error as APICallError).statusCode).toBe(status)
    },
  )

  it('sends a custom body (object as JSON, string as text) and extra headers', async () => {
    upstream.setFaults('gpt-4o', { status: 502, body: '<html>bad gateway</html>', headers: { 'x-proxy': 'edge' } })
    const text = await chat(upstream)
    expect(text.status).toBe(502)
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(text.headers.get('x-proxy')).toBe('edge')
    expect(await text.text()).toBe('<html>bad gateway</html>')
    upstream.setFaults('gpt-4o', { status: 418, body: { teapot: true } })
    const json = await chat(upstream)
    expect(await json.json()).toEqual({ teapot: true })
  })

  it('quotaExhausted answers 429 with insufficient_quota', async () => {
    upstream.setFaults('gpt-4o', { quotaExhausted: true })
    const response = await chat(upstream)
    expect(response.status).toBe(429)
    expect(await response.json()).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } })
    const error = await generateText({ model: model(), prompt: 'x', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect((error as APICallError).responseBody).toContain('insufficient_quota')
    expect(upstream.requests()[0]?.fault).toBe('quota_exhausted')
  })
})

describe('hang', () => {
  it('never answers; the client abort is noticed and recorded as aborted', async () => {
    upstream.setFaults('gpt-4o', { hang: true })
    const started = Date.now()
    const error = await generateText({
      model: model(),
      prompt: 'x',
      maxRetries: 0,
      abortSignal: AbortSignal.timeout(150),
    }).catch((caught: unknown) => caught)
    expect((error as Error).name).toMatch(/Abort|Timeout/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    await upstream.whenIdle()
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ arrivals: 1, aborted: 1, inFlight: 0, completed: 0 })
    expect(upstream.requests('gpt-4o')[0]).toMatchObject({ outcome: 'aborted', fault: 'hang', status: undefined })
  })

  it('close() ends hanging requests', async () => {
    const own = await createMockUpstream({ faults: { '*': { hang: true } } })
    const pending = chat(own).catch((caught: unknown) => caught)
    while (own.stats().inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    await own.close()
    expect(await pending).toBeInstanceOf(Error)
    expect(own.stats()).toMatchObject({ aborted: 1, inFlight: 0 })
  })
})

describe('stream cut', () => {
  it('sends N content chunks, then cuts the socket: the AI SDK stream errors after N pieces', async () => {
    upstream.setFaults('gpt-4o', { streamCutAfterChunks: 3 })
    const pieces: string[] = []
    const errors: unknown[] = []
    const result = streamText({
      model: model(),
      prompt: 'one two three four five six',
      maxRetries: 0,
      onError: ({ error }) => void errors.push(error),
    })
    try {
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') pieces.push(part.text)
        if (part.type === 'error') errors.push(part.error)
      }
    } catch (error) {
      errors.push(error)
    }
    expect(pieces).toEqual(['mock', ' reply', ' from'])
    expect(errors.length).toBeGreaterThan(0)
    // undici reports the cut as `TypeError: terminated`, wrapped by the SDK.
    expect(String((errors[0] as Error).cause ?? errors[0])).toMatch(/terminated/)
    await upstream.whenIdle()
    expect(upstream.requests('gpt-4o')[0]).toMatchObject({ outcome: 'failed', fault: 'stream_cut', stream: true })
  })

  it('the raw stream has no finish chunk and no [DONE]', async () => {
    upstream.setFaults('gpt-4o', { streamCutAfterChunks: 2 })
    const response = await chat(upstream, 'gpt-4o', { stream: true })
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    let text = ''
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return undefined
        text += new TextDecoder().decode(value)
      }
    })().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Error)
    expect(text.match(/^data: /gm)).toHaveLength(3)
    expect(text).not.toContain('[DONE]')
    expect(text).not.toContain('"finish_reason":"stop"')
  })

  it('a cut after 0 chunks leaves only the role chunk; a non-streaming request gets half a body', async () => {
    upstream.setFaults('gpt-4o', { streamCutAfterChunks: 0 })
    const pieces: string[] = []
    const result = streamText({ model: model(), prompt: 'x', maxRetries: 0, onError: () => {} })
    try {
      for await (const part of result.fullStream) if (part.type === 'text-delta') pieces.push(part.text)
    } catch {
      // The cut surfaces as a thrown error or as an error part, depending on where the SDK notices it.
    }
    expect(pieces).toEqual([])
    await expect(generateText({ model: model(), prompt: 'x', maxRetries: 0 })).rejects.toThrow()
    await upstream.whenIdle()
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ failed: 2, aborted: 0 })
  })

  it('chunkDelayMs spaces the chunks out', async () => {
    upstream.setFaults('gpt-4o', { chunkDelayMs: 30 })
    const started = Date.now()
    const result = streamText({ model: model(), prompt: 'a b' })
    expect(await result.text).toBe('mock reply from gpt-4o: a b')
    // 6 pieces and the closing events, 30 ms apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(6 * 30)
  })
})

describe('error in a 200 body', () => {
  it('answers HTTP 200 with an OpenAI error object; the AI SDK fails', async () => {
    upstream.setFaults('gpt-4o', { errorInBody: true })
    const response = await chat(upstream)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ error: { message: expect.any(String), type: 'server_error' } })
    await expect(generateText({ model: model(), prompt: 'x', maxRetries: 0 })).rejects.toThrow()
    const errors: unknown[] = []
    const streamed = streamText({
      model: model(),
      prompt: 'x',
      maxRetries: 0,
      onError: ({ error }) => void errors.push(error),
    })
    await streamed.consumeStream()
    expect(errors).toHaveLength(1)
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ failed: 3, completed: 0 })
    expect(upstream.requests()[0]?.fault).toBe('error_in_body')
  })
})

describe('latency', () => {
  it('delays the answer, then answers normally', async () => {
    upstream.setFaults('gpt-4o', { latencyMs: 150 })
    const started = Date.now()
    const result = await generateText({ model: model(), prompt: 'slow' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(145)
    expect(result.text).toBe('mock reply from gpt-4o: slow')
    expect(upstream.requests()[0]).toMatchObject({ outcome: 'completed', fault: 'latency' })
  })

  it('combines with an outcome: slow failures', async () => {
    upstream.setFaults('gpt-4o', { latencyMs: 100, status: 503 })
    const started = Date.now()
    expect((await chat(upstream)).status).toBe(503)
    expect(Date.now() - started).toBeGreaterThanOrEqual(95)
  })

  it('a client abort during the delay is recorded as aborted', async () => {
    upstream.setFaults('gpt-4o', { latencyMs: 10_000 })
    await expect(chat(upstream, 'gpt-4o', {}, { signal: AbortSignal.timeout(50) })).rejects.toThrow()
    await upstream.whenIdle()
    expect(upstream.stats()).toMatchObject({ aborted: 1, inFlight: 0 })
  })

  it('records the maximum in flight under 20 concurrent requests', async () => {
    upstream.setFaults('slow', { latencyMs: 500, jitterMs: 20 })
    const results = await Promise.all(
      Array.from({ length: 20 }, () => generateText({ model: model('slow'), prompt: 'x' })),
    )
    expect(results.every((result) => result.text.startsWith('mock reply from slow'))).toBe(true)
    expect(upstream.stats().models.slow).toMatchObject({ arrivals: 20, completed: 20, inFlight: 0, maxInFlight: 20 })
    expect(upstream.stats().maxInFlight).toBe(20)
  })
})

describe('probability, times and sequences', () => {
  it('rate applies a fault to about that share of requests, the same ones for the same seed', async () => {
    upstream.setFaults('gpt-4o', { status: 500, rate: 0.3 })
    const first = await statuses(upstream, 100)
    const failures = first.filter((status) => status === 500).length
    expect(failures).toBeGreaterThan(15)
    expect(failures).toBeLessThan(45)
    const twin = await createMockUpstream({ seed: 7, faults: { 'gpt-4o': { status: 500, rate: 0.3 } } })
    try {
      expect(await statuses(twin, 100)).toEqual(first)
    } finally {
      await twin.close()
    }
  })

  it('times applies a fault to the next N requests only', async () => {
    upstream.setFaults('gpt-4o', { status: 503, times: 3 })
    expect(await statuses(upstream, 5)).toEqual([503, 503, 503, 200, 200])
  })

  it('a sequence is consumed in order, then requests succeed', async () => {
    upstream.setFaults('gpt-4o', {
      sequence: [{ status: 500 }, 'ok', { status: 429, retryAfter: 1 }, {}, { quotaExhausted: true }],
    })
    expect(await statuses(upstream, 7)).toEqual([500, 200, 429, 200, 429, 200, 200])
  })

  it('rules are tried in order, then the "*" rules', async () => {
    upstream.setFaults('gpt-4o', [
      { status: 500, times: 1 },
      { status: 502, times: 1 },
    ])
    upstream.setFaults('*', { status: 503, times: 3 })
    expect(await statuses(upstream, 4)).toEqual([500, 502, 503, 503])
    expect(await statuses(upstream, 2, 'other')).toEqual([503, 200])
    upstream.clearFaults('*')
    upstream.setFaults('gpt-4o', [])
    expect(await statuses(upstream, 1)).toEqual([200])
  })

  it('"*" rules also apply to GET /v1/models; a model\'s rules to GET /v1/models/{id}', async () => {
    upstream.setFaults('*', { status: 500, times: 1 })
    expect((await fetch(`${upstream.url}/v1/models`)).status).toBe(500)
    expect((await fetch(`${upstream.url}/v1/models`)).status).toBe(200)
    upstream.setFaults('gpt-4o', { status: 404 })
    expect((await fetch(`${upstream.url}/v1/models/gpt-4o`)).status).toBe(404)
    expect((await fetch(`${upstream.url}/models/gpt-4o-mini`)).status).toBe(200)
  })
})

describe('invalid faults', () => {
  it('throw an InvalidFaultsError listing every problem with its path', () => {
    let caught: unknown
    try {
      upstream.setFaults('gpt-4o', [
        { status: 99, rate: 2 },
        { hang: true, status: 500 },
        { sequence: [{ latencyMs: -1 }] },
        { bogus: 1 } as never,
      ])
    } catch (error) {
      caught = error
    }
    expect(InvalidFaultsError.isInstance(caught)).toBe(true)
    const { issues, code } = caught as InvalidFaultsError
    expect(code).toBe('faults_invalid')
    expect(issues.map((issue) => issue.path)).toEqual([
      'gpt-4o[0].status',
      'gpt-4o[0].rate',
      'gpt-4o[1]',
      'gpt-4o[2].sequence[0].latencyMs',
      'gpt-4o[3].bogus',
    ])
    expect(() => upstream.setFaults('x', { times: 1.5 })).toThrow(/times/)
  })

  it('bad options throw a RangeError', async () => {
    await expect(createMockUpstream({ port: -1 })).rejects.toThrow(RangeError)
    await expect(createMockUpstream({ maxRecordedRequests: 1.5 })).rejects.toThrow(RangeError)
    await expect(createMockUpstream({ faults: { m: { status: 'x' as never } } })).rejects.toThrow(InvalidFaultsError)
  })
})
