/** The pass-through path: the upstream body it builds, the answer it writes back, and cancellation. */
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import type { RouterEvent } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, rewriteModel, startGateway, topLevelModel, Upstreams, upstreamBody } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

const call = (extra: Partial<LanguageModelV3CallOptions> = {}) =>
  ({ prompt: [], ...extra }) as LanguageModelV3CallOptions
const build = (text: string, extra: Partial<LanguageModelV3CallOptions> = {}) =>
  JSON.parse(upstreamBody({ text, body: JSON.parse(text) }, 'real-model', call(extra))) as Record<string, unknown>

describe('the upstream body', () => {
  const messages = [{ role: 'user', content: 'hi "model": "not this" {[' }]

  test('the top-level model is replaced wherever it stands; nothing else changes', () => {
    for (const body of [
      { model: 'my_pool', messages },
      { messages, model: 'my_pool', top_p: 0.5 },
      {
        messages,
        tools: [
          {
            type: 'function',
            function: { name: 'pick', parameters: { type: 'object', properties: { model: { type: 'string' } } } },
          },
        ],
        model: 'my_pool',
      },
    ]) {
      expect(build(JSON.stringify(body))).toEqual({ ...body, model: 'real-model' })
    }
    // Whitespace, as a pretty-printing client sends it.
    expect(build(JSON.stringify({ model: 'my_pool', messages }, null, 2))).toEqual({ model: 'real-model', messages })
  })

  test('keys that only look like model (escaped, nested, inside other keys) are not taken for it', () => {
    const escaped = '{"mod\\u0065l":"my_pool","messages":[],"meta":{"model":"nested"}}'
    expect(build(escaped)).toEqual({ model: 'real-model', messages: [], meta: { model: 'nested' }, stream: false })
    const tricky = '{"a\\"model":"x","model":"my_pool","messages":[]}'
    expect(build(tricky)).toEqual({ 'a"model': 'x', model: 'real-model', messages: [] })
    expect(topLevelModel('{"meta":{"model":"nested"},"model":"top"}')).toEqual([35, 40])
  })

  test("the echelon's temperature and max_tokens fill in only what the client left out", () => {
    const text = JSON.stringify({ model: 'my_pool', messages })
    expect(build(text, { temperature: 0.2, maxOutputTokens: 99 })).toEqual({
      model: 'real-model',
      messages,
      temperature: 0.2,
      max_tokens: 99,
    })
    const own = JSON.stringify({ model: 'my_pool', messages, temperature: 0.9, max_completion_tokens: 5 })
    // The router's call carries the client's own values then; the body keeps them as the client wrote them.
    expect(build(own, { temperature: 0.9, maxOutputTokens: 5 })).toEqual({
      model: 'real-model',
      messages,
      temperature: 0.9,
      max_completion_tokens: 5,
    })
  })

  test('stream_options is dropped (upstreams refuse it without stream)', () => {
    const text = JSON.stringify({ model: 'my_pool', messages, stream: false, stream_options: { include_usage: true } })
    expect(build(text)).toEqual({ model: 'real-model', messages, stream: false })
  })
})

test("the answer is written back byte for byte but for the top-level model's value", () => {
  const text = '{"id":"x","model":"real-model","choices":[{"message":{"content":"\\"model\\":\\"keep\\""}}],"usage":{}}'
  const span = topLevelModel(text, text.indexOf('"choices"'))
  expect(rewriteModel({ text, ...(span ? { modelSpan: span } : {}) }, 'my_pool')).toBe(
    text.replace('"real-model"', '"my_pool"'),
  )
  // Without a span (an unusual answer) it is parsed and serialized again.
  expect(JSON.parse(rewriteModel({ text }, 'my_pool'))).toEqual({ ...JSON.parse(text), model: 'my_pool' })
})

describe('over HTTP', () => {
  let upstream: MockUpstream
  let gateway: Gateway
  const events: RouterEvent[] = []

  beforeAll(async () => {
    upstream = await createMockUpstream()
    gateway = await startGateway({
      config: FIXTURE,
      env: { MOCK_URL: upstream.url },
      router: { ...FAST_ROUTER, requestTimeoutMs: 1_500 },
    })
    gateway.router.on((event) => void events.push(event))
  })
  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })
  beforeEach(() => {
    upstream.clearFaults()
    upstream.reset()
    events.length = 0
  })

  const post = (model: string, signal?: AbortSignal) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      ...(signal ? { signal } : {}),
    })

  async function until(check: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out waiting')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  test('token usage reaches the router events, read from the answer without parsing it', async () => {
    const response = await post('main_group')
    expect(response.status).toBe(200)
    const answer = (await response.json()) as {
      model: string
      usage: { prompt_tokens: number; completion_tokens: number }
    }
    expect(answer.model).toBe('main_group')
    const end = events.find((event) => event.type === 'attempt_end')
    expect(end).toMatchObject({
      ok: true,
      inputTokens: answer.usage.prompt_tokens,
      outputTokens: answer.usage.completion_tokens,
    })
  })

  test('an error in a 200 body fails the attempt (502) and the router moves on', async () => {
    upstream.setFaults('model-a', { errorInBody: true })
    for (let index = 0; index < 2; index++) expect((await post('main_group')).status).toBe(200)
    const failed = events.find((event) => event.type === 'attempt_end' && !event.ok)
    expect(failed).toMatchObject({ instance: expect.stringContaining('model-a'), error: { statusCode: 502 } })
  })

  test('an answer over the size limit fails instead of filling the memory', async () => {
    const upstreams = new Upstreams({ maxAnswerBytes: 1_000 })
    const url = new URL(`${upstream.url}/v1/chat/completions`)
    const body = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] })
    try {
      upstream.setReply('big', 'x'.repeat(5_000))
      await expect(upstreams.post(url, { 'content-type': 'application/json' }, body('big'), call())).rejects.toThrow(
        /larger than 1000 bytes/,
      )
      const small = await upstreams.post(url, { 'content-type': 'application/json' }, body('small'), call())
      expect(small.status).toBe(200)
      expect(JSON.parse(small.text)).toMatchObject({ model: 'small' })
    } finally {
      upstream.clearReplies()
      await upstreams.close()
    }
  })

  test('a client that hangs up aborts the upstream request', async () => {
    upstream.setFaults('hang-model', { hang: true })
    const controller = new AbortController()
    const pending = post('hanging_group', controller.signal).catch((error: unknown) => error)
    await until(() => upstream.stats().inFlight === 1)
    controller.abort()
    await pending
    await until(() => upstream.stats().aborted === 1)
    expect(upstream.stats().inFlight).toBe(0)
  })

  test("the attempt's timeout aborts the upstream request too", async () => {
    upstream.setFaults('hang-model', { hang: true })
    const response = await post('hanging_group')
    expect(response.status).toBe(504)
    await until(() => upstream.stats().aborted === 1)
  })

  test('many requests over one keep-alive connection leave no abort listeners behind, failovers included', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      for (let index = 0; index < 40; index++) {
        // Half of them with model-a failing: the router moves to model-b.
        if (index === 20) upstream.setFaults('model-a', { status: 500 })
        expect((await post('main_group')).status).toBe(200)
      }
      expect(upstream.stats().models['model-a']?.faulted).toBeGreaterThan(0)
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.filter((warning) => /listener/i.test(warning.message))).toEqual([])
  })
})
