/**
 * Streamed completions through the pass-through: the upstream's events reach the client with only `model` rewritten,
 * and the router still falls over before the first content, counts tokens, and ends a cut stream with an error.
 */
import type { RouterEvent } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway, upstreamBody } from '../src/index'
import { FAST_ROUTER, FIXTURE, writeConfiguration } from './helpers'

let upstream: MockUpstream
let gateway: Gateway
const events: RouterEvent[] = []
const accessLines: Record<string, unknown>[] = []

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: FAST_ROUTER,
    accessLog: { logger: { info: (line) => void accessLines.push(line as Record<string, unknown>) } },
  })
  gateway.router.on((event) => void events.push(event))
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.clearReplies()
  upstream.reset()
  events.length = 0
  accessLines.length = 0
})

const client = (url = gateway.url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
const messages = [{ role: 'user' as const, content: 'one two three four five' }]

/** POSTs a streamed request and reads the whole answer as text. */
async function streamText(url: string, body: Record<string, unknown>) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ stream: true, messages, ...body }),
  })
  return { response, text: await response.text() }
}

/** The `data:` payloads of an SSE text, `[DONE]` included. */
const dataOf = (text: string) =>
  text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length))

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('the upstream body of a stream asks for the usage chunk, keeping what the client wrote', () => {
  const build = (body: Record<string, unknown>) =>
    JSON.parse(upstreamBody({ text: JSON.stringify(body), body }, 'real-model', { prompt: [] })) as Record<
      string,
      unknown
    >
  expect(build({ model: 'my_pool', stream: true, messages })).toEqual({
    model: 'real-model',
    stream: true,
    messages,
    stream_options: { include_usage: true },
  })
  expect(build({ model: 'my_pool', stream: true, messages, stream_options: { include_usage: true } })).toEqual({
    model: 'real-model',
    stream: true,
    messages,
    stream_options: { include_usage: true },
  })
  expect(
    build({ model: 'my_pool', stream: true, messages, stream_options: { include_usage: false, other: 1 } }),
  ).toMatchObject({ stream: true, stream_options: { include_usage: true, other: 1 } })
})

describe('the events', () => {
  test("are the upstream's own, byte for byte, but for model, the routing field and usage the client did not ask for", async () => {
    upstream.setReply('*', {
      content: 'Hello, "streaming" world — ünïcode ✓ and more',
      chunks: ['Hello, ', '"streaming" ', 'world — ', 'ünïcode ✓', ' and more'],
    })
    const { response, text } = await streamText(gateway.url, {
      model: 'main_group',
      stream_options: { include_usage: true },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const instance = response.headers.get('x-llmpool-instance')!
    const upstreamModel = /model-[ab]/.exec(instance)![0]
    // The same request straight to the upstream, for the instance that answered.
    const direct = await fetch(`${upstream.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' },
      body: JSON.stringify({ model: upstreamModel, stream: true, messages, stream_options: { include_usage: true } }),
    }).then((answer) => answer.text())
    const normalize = (sse: string) => sse.replace(/chatcmpl-mock\d+/g, 'ID').replace(/"created":\d+/g, '"created":0')
    const routingField = `"llmpool":{"instance":${JSON.stringify(instance)},"attempts":1},`
    expect(text.indexOf(routingField)).toBe('data: {'.length)
    expect(
      normalize(text.replace(routingField, '').replaceAll('"model":"main_group"', `"model":"${upstreamModel}"`)),
    ).toBe(normalize(direct))
  })

  test('text that is not ASCII arrives as it was sent, through the pass-through and through the AI SDK path', async () => {
    const content = 'Grüße — 日本語 ✓ 🎉 "quoted"'
    upstream.setReply('*', { content, chunks: ['Grüße — ', '日本語 ✓', ' 🎉 "quoted"'] })
    const viaAiSdk = await startGateway({
      config: FIXTURE,
      env: { MOCK_URL: upstream.url },
      router: FAST_ROUTER,
      passThrough: false,
    })
    try {
      for (const url of [gateway.url, viaAiSdk.url]) {
        const stream = await client(url).chat.completions.create({ model: 'main_group', messages, stream: true })
        const chunks: OpenAI.ChatCompletionChunk[] = []
        for await (const chunk of stream) chunks.push(chunk)
        expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(content)
        expect(chunks.every((chunk) => chunk.model === 'main_group')).toBe(true)
      }
    } finally {
      await viaAiSdk.close()
    }
  })

  test('the official client reads them: content, the model asked for, the headers and the routing field', async () => {
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'main_pool', messages, stream: true })
      .withResponse()
    expect(response.headers.get('x-llmpool-instance')).toMatch(/model-[ab]/)
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.model === 'main_pool' && chunk.object === 'chat.completion.chunk')).toBe(true)
    expect((chunks[0] as unknown as { llmpool: unknown }).llmpool).toEqual({
      instance: response.headers.get('x-llmpool-instance'),
      attempts: 1,
    })
    expect(chunks.slice(1).some((chunk) => 'llmpool' in chunk)).toBe(false)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toMatch(
      /^mock reply from model-[ab]: one two three four five$/,
    )
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop')
    // It went as the client's bytes (no AI SDK user agent), with stream_options added for the router's token count.
    const sent = upstream.requests().at(-1)!
    expect(String(sent.headers['user-agent'] ?? '')).not.toContain('ai-sdk')
    expect(sent.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  test('the usage chunk reaches the client only when it asked; the tokens reach the router either way', async () => {
    const outputTokens = () =>
      Object.values(gateway.router.metrics!.totals().instances).reduce((sum, figures) => sum + figures.outputTokens, 0)
    const tokensBefore = outputTokens()
    // The task group's own figures (`llmpool_output_tokens_total{task_group="main_group"}`) count them too.
    const groupTokens = () => gateway.router.metrics!.totals().taskGroups.main_group?.outputTokens ?? 0
    const groupBefore = groupTokens()
    const plain = await streamText(gateway.url, { model: 'main_group' })
    expect(plain.text).not.toContain('"usage"')
    expect(dataOf(plain.text).at(-1)).toBe('[DONE]')
    const asked = await streamText(gateway.url, { model: 'main_group', stream_options: { include_usage: true } })
    const chunks = dataOf(asked.text)
      .slice(0, -1)
      .map((data) => JSON.parse(data) as OpenAI.ChatCompletionChunk)
    const usage = chunks.at(-1)!
    expect(usage.choices).toEqual([])
    expect(usage.usage!.completion_tokens).toBeGreaterThan(0)

    const ends = events.filter((event) => event.type === 'stream_end')
    expect(ends).toHaveLength(2)
    for (const end of ends)
      expect(end).toMatchObject({ ok: true, inputTokens: usage.usage!.prompt_tokens, outputTokens: expect.any(Number) })
    expect(outputTokens() - tokensBefore).toBe(
      ends.reduce((sum, end) => sum + (end as { outputTokens: number }).outputTokens, 0),
    )
    expect(groupTokens() - groupBefore).toBe(outputTokens() - tokensBefore)
    // And the access log.
    await until(() => accessLines.length === 2)
    for (const line of accessLines)
      expect(line).toMatchObject({
        stream: true,
        status: 200,
        attempts: 1,
        fallbacks: 0,
        inputTokens: usage.usage!.prompt_tokens,
        outputTokens: expect.any(Number),
      })
  })

  test('streamed tool calls come through as the upstream sent them', async () => {
    const weather = {
      type: 'function' as const,
      function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    }
    const stream = await client().chat.completions.create({
      model: 'main_wrapper',
      messages: [{ role: 'user', content: 'call tool weather {"city":"Paris"}' }],
      tools: [weather],
      stream: true,
    })
    let args = ''
    let finish: string | null | undefined
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) args += call.function?.arguments ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expect(finish).toBe('tool_calls')
  })
})

test('a cut after the first content ends with an error event, never [DONE]', async () => {
  upstream.setFaults('*', { streamCutAfterChunks: 2 })
  const { response, text } = await streamText(gateway.url, { model: 'main_pool' })
  expect(response.status).toBe(200)
  const data = dataOf(text)
  expect(JSON.parse(data.at(-1)!)).toMatchObject({ error: { code: 'stream_interrupted', type: 'upstream_error' } })
  expect(text).not.toContain('[DONE]')
  expect(text).not.toContain('"finish_reason":"stop"')
  // The two content chunks it sent came through before the error.
  expect(
    data
      .slice(0, -1)
      .map((chunk) => (JSON.parse(chunk) as OpenAI.ChatCompletionChunk).choices[0]!.delta.content ?? '')
      .join(''),
  ).toBe('mock reply')
  // The official client sees the error too.
  const stream = await client().chat.completions.create({ model: 'main_pool', messages, stream: true })
  await expect(async () => {
    for await (const _chunk of stream);
  }).rejects.toThrow(/stream failed after it started/)
  await until(() => events.some((event) => event.type === 'stream_end' && !event.ok))
})

test('events the upstream sends apart reach the client apart: nothing is held for more', async () => {
  upstream.setFaults('*', { chunkDelayMs: 80 })
  const started = performance.now()
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'main_group', stream: true, messages }),
  })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const arrivals: { at: number; content: string }[] = []
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    const text = decoder.decode(next.value, { stream: true })
    const content = dataOf(text)
      .filter((data) => data !== '[DONE]')
      .map((data) => (JSON.parse(data) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '')
      .join('')
    arrivals.push({ at: performance.now() - started, content })
  }
  const withContent = arrivals.filter((arrival) => arrival.content !== '')
  expect(withContent.map((arrival) => arrival.content).join('')).toMatch(
    /^mock reply from model-[ab]: one two three four five$/,
  )
  // One read per upstream chunk (the mock waits 80 ms between them): none waited for the next.
  expect(withContent.length).toBeGreaterThanOrEqual(5)
  for (let index = 1; index < withContent.length; index++)
    expect(withContent[index]!.at - withContent[index - 1]!.at).toBeGreaterThan(40)
})

test('a client that hangs up mid-stream aborts the upstream request', async () => {
  upstream.setFaults('*', { chunkDelayMs: 100 })
  const controller = new AbortController()
  const stream = await client().chat.completions.create(
    { model: 'main_group', messages, stream: true },
    { signal: controller.signal },
  )
  let seen = ''
  // The client ends its iteration quietly on abort.
  for await (const chunk of stream) {
    seen += chunk.choices[0]?.delta.content ?? ''
    if (seen !== '') controller.abort()
  }
  expect(seen).toBe('mock')
  await until(() => upstream.stats().aborted === 1)
  expect(upstream.stats()).toMatchObject({ inFlight: 0, completed: 0 })
  await until(() => gateway.inFlight() === 0)
})

describe('before the first content, the router still falls over', () => {
  // Two echelons, one model each: `first` is asked first; `second` when it fails. The first-token timeout is short.
  const directory = writeConfiguration(
    {
      '_registry.toml':
        '[task_groups]\nordered = { file = "ordered.toml" }\nunreachable_first = { file = "unreachable.toml" }\n[global]\nenable_hot_reload = false\n',
      'ordered.toml': [
        '[task_group]\nname = "ordered"\nfallback_strategy = "echelon_down"\n[task_group.circuit_breaker]\nfailure_threshold = 100',
        '[task_group.echelons.first]\nmodels = ["openai:first"]\npriority = 1\ntimeout = 10\nfirst_token_timeout = 0.3\nmax_retries = 0\napi_key = "test-key"\nbase_url = "${MOCK_URL}/v1"',
        '[task_group.echelons.second]\nmodels = ["openai:second"]\npriority = 2\ntimeout = 10\nmax_retries = 0\napi_key = "test-key"\nbase_url = "${MOCK_URL}/v1"',
      ].join('\n'),
      'unreachable.toml': [
        '[task_group]\nname = "unreachable_first"\nfallback_strategy = "echelon_down"',
        '[task_group.echelons.first]\nmodels = ["openai:nobody"]\npriority = 1\ntimeout = 10\nmax_retries = 0\napi_key = "test-key"\nbase_url = "http://127.0.0.1:9/v1"',
        '[task_group.echelons.second]\nmodels = ["openai:second"]\npriority = 2\ntimeout = 10\nmax_retries = 0\napi_key = "test-key"\nbase_url = "${MOCK_URL}/v1"',
      ].join('\n'),
    },
    'stream-fallback',
  )
  let ordered: Gateway
  beforeEach(async () => {
    // A new gateway each time: no cooldown or breaker state carries over from the previous fault.
    ordered = await startGateway({ config: directory, env: { MOCK_URL: upstream.url }, router: FAST_ROUTER })
  })
  afterEach(() => ordered.close())

  test.each([
    ['a 500', { status: 500 }],
    ['a 429', { status: 429, retryAfter: 1 }],
    ['an error in the stream', { errorInBody: true }],
    ['a cut before any content', { streamCutAfterChunks: 0 }],
    ['no first token in time', { hang: true }],
  ])('%s', async (_name, fault) => {
    upstream.setFaults('first', fault)
    const { data: stream, response } = await client(ordered.url)
      .chat.completions.create({ model: 'ordered', messages, stream: true })
      .withResponse()
    expect(response.headers.get('x-llmpool-attempts')).toBe('2')
    expect(response.headers.get('x-llmpool-instance')).toContain('second')
    let text = ''
    let first: unknown
    for await (const chunk of stream) {
      first ??= (chunk as unknown as { llmpool: unknown }).llmpool
      text += chunk.choices[0]?.delta.content ?? ''
    }
    expect(first).toEqual({ instance: response.headers.get('x-llmpool-instance'), attempts: 2 })
    // Nothing of the failed attempt reached the client.
    expect(text).toBe('mock reply from second: one two three four five')
    await until(() => upstream.stats().inFlight === 0)
    expect(upstream.stats().models.first).toMatchObject({ arrivals: 1, completed: 0 })
  })

  test('a connection error', async () => {
    const { text, response } = await streamText(ordered.url, { model: 'unreachable_first' })
    expect(response.headers.get('x-llmpool-attempts')).toBe('2')
    const data = dataOf(text)
    expect(data.at(-1)).toBe('[DONE]')
    const chunks = data.slice(0, -1).map((chunk) => JSON.parse(chunk) as OpenAI.ChatCompletionChunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'mock reply from second: one two three four five',
    )
  })
})

test('--no-pass-through streams through the AI SDK as before', async () => {
  const aiSdk = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: FAST_ROUTER,
    passThrough: false,
  })
  try {
    const { response, text } = await streamText(aiSdk.url, { model: 'main_pool' })
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')
    expect(dataOf(text).at(-1)).toBe('[DONE]')
    expect(String(upstream.requests().at(-1)!.headers['user-agent'])).toContain('ai-sdk')
  } finally {
    await aiSdk.close()
  }
})

test('unusual but valid event streams: CRLF, comments, `data:` without a space, pieces split anywhere, an escaped model', async () => {
  // An upstream of its own: the mock upstream writes events as OpenAI does.
  const chunk = (fields: string) => `{"id":"c1","object":"chat.completion.chunk","created":1,${fields}}`
  const events = [
    ': keep-alive\r\n\r\n',
    `data:${chunk('"model":"odd-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]')}\r\n\r\n`,
    `data: ${chunk('"model":"odd-model","choices":[{"index":0,"delta":{"content":"héllo ✓"},"finish_reason":null}]')}\n\n`,
    `event: message\ndata: ${chunk('"model":"odd\\u002dmodel","choices":[{"index":0,"delta":{"content":" wörld"},"finish_reason":null}]')}\n\n`,
    `data: ${chunk('"model":"odd-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]')}\n\n`,
    `data: ${chunk('"model":"odd-model","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}')}\n\n`,
    'data: [DONE]\n\n',
  ]
  const bytes = Buffer.from(events.join(''))
  const { createServer } = await import('node:http')
  const odd = createServer((request, response) => {
    request.resume()
    request.on('end', async () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      // Seven bytes at a time: events, lines and UTF-8 characters split across reads.
      for (let at = 0; at < bytes.length; at += 7) {
        response.write(bytes.subarray(at, at + 7))
        await new Promise((resolve) => setImmediate(resolve))
      }
      response.end()
    })
  })
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve))
  const port = (odd.address() as { port: number }).port
  const directory = writeConfiguration({
    '_registry.toml': '[task_groups]\nodd = { file = "odd.toml" }\n[global]\nenable_hot_reload = false\n',
    'odd.toml': `[task_group]\nname = "odd"\n[task_group.echelons.main]\nmodels = ["openai:odd-model"]\ntimeout = 10\nmax_retries = 0\napi_key = "test-key"\nbase_url = "http://127.0.0.1:${port}/v1"\n`,
  })
  const oddGateway = await startGateway({ config: directory, router: FAST_ROUTER })
  try {
    const { data: stream, response } = await client(oddGateway.url)
      .chat.completions.create({ model: 'odd', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse()
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const received of stream) chunks.push(received)
    expect(chunks.every((received) => received.model === 'odd')).toBe(true)
    expect(chunks.map((received) => received.choices[0]?.delta.content ?? '').join('')).toBe('héllo ✓ wörld')
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3 })
    expect((chunks[0] as unknown as { llmpool: unknown }).llmpool).toMatchObject({ attempts: 1 })
  } finally {
    await oddGateway.close()
    await new Promise((resolve) => odd.close(resolve))
  }
})
