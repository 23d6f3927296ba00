/**
 * POST /v1/messages through the official Anthropic client: JSON, streams, tools, stop reasons, usage, fallback,
 * errors and auth, over OpenAI-compatible instances and over an Anthropic-provider instance of the mock upstream.
 */
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import Anthropic, { APIError } from '@anthropic-ai/sdk'
import { createMockUpstream, MockLanguageModel, type MockUpstream, mockUsage, simulateStream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, writeConfiguration } from './helpers'

const TOKEN = 'gateway-token-0123456789'

/** Instances: two OpenAI-compatible models (behind a pool and a wrapper), one Anthropic model, and a fallback chain. */
const CONFIGURATION = {
  '_registry.toml': `
[pools]
main_pool = { file = "pools/main-pool.toml" }
tight_pool = { file = "pools/tight-pool.toml" }
[task_groups]
openai_group = { file = "task-groups/openai-group.toml" }
claude_group = { file = "task-groups/claude-group.toml" }
fallback_group = { file = "task-groups/fallback-group.toml" }
fragile_group = { file = "task-groups/fragile-group.toml" }
[wrappers]
wrappers = { file = "wrappers/wrappers.toml" }
[global]
enable_hot_reload = false
`,
  'pools/main-pool.toml':
    '[pool]\nname = "main_pool"\ntask_groups = ["openai_group"]\n[pool.rotation_strategy]\ntype = "round_robin"\n',
  // One request, then nothing for a long time: the second is rate limited.
  'pools/tight-pool.toml': `
[pool]
name = "tight_pool"
task_groups = ["openai_group"]
[pool.rate_limiting]
enabled = true
algorithm = "token_bucket"
[pool.rate_limiting.token_bucket]
bucket_size = 1
refill_rate = 0.01
`,
  'task-groups/openai-group.toml': `
[task_group]
name = "openai_group"
[task_group.circuit_breaker]
failure_threshold = 100
[task_group.echelons.main]
models = ["openai:model-a", "openai:model-b"]
timeout = 10
max_retries = 0
api_key = "test-openai-key"
base_url = "\${MOCK_URL}/v1"
`,
  'task-groups/claude-group.toml': `
[task_group]
name = "claude_group"
[task_group.circuit_breaker]
failure_threshold = 100
[task_group.echelons.main]
models = ["anthropic:claude-sonnet-4-5"]
timeout = 10
max_retries = 0
api_key = "test-anthropic-key"
base_url = "\${MOCK_URL}/v1"
`,
  'task-groups/fallback-group.toml': `
[task_group]
name = "fallback_group"
[task_group.fallback]
retry_delay = 0
[task_group.circuit_breaker]
failure_threshold = 100
[task_group.echelons.first]
priority = 1
models = ["openai:first-down"]
timeout = 10
max_retries = 0
api_key = "test-openai-key"
base_url = "\${MOCK_URL}/v1"
[task_group.echelons.second]
priority = 2
models = ["anthropic:claude-haiku-4-5"]
timeout = 10
max_retries = 0
api_key = "test-anthropic-key"
base_url = "\${MOCK_URL}/v1"
`,
  // One counted failure opens an instance's breaker here.
  'task-groups/fragile-group.toml': `
[task_group]
name = "fragile_group"
[task_group.fallback]
retry_delay = 0
[task_group.circuit_breaker]
failure_threshold = 1
[task_group.echelons.openai]
priority = 1
models = ["openai:model-a"]
max_retries = 0
api_key = "test-openai-key"
base_url = "\${MOCK_URL}/v1"
[task_group.echelons.anthropic]
priority = 2
models = ["anthropic:claude-sonnet-4-5"]
max_retries = 0
api_key = "test-anthropic-key"
base_url = "\${MOCK_URL}/v1"
`,
  'wrappers/wrappers.toml': '[wrappers]\nassistant = { type = "pool", pool_name = "main_pool" }\n',
}

let upstream: MockUpstream
let gateway: Gateway
let client: Anthropic
const accessLines: Record<string, unknown>[] = []

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: writeConfiguration(CONFIGURATION, 'anthropic'),
    env: { MOCK_URL: upstream.url },
    router: FAST_ROUTER,
    token: TOKEN,
    accessLog: { logger: { info: (line) => void accessLines.push(line as Record<string, unknown>) } },
  })
  client = new Anthropic({ baseURL: gateway.url, apiKey: TOKEN, maxRetries: 0 })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

/** The last request the upstream received, as the mock recorded it. */
const lastRequest = () => upstream.requests().at(-1)!
const lastBody = () => lastRequest().body as Record<string, unknown>

async function failure(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof APIError) return error
    throw error
  }
  throw new Error('the request succeeded')
}

/** The events of a raw SSE answer: `[event name, parsed data]`. */
function events(text: string): [string, Record<string, unknown>][] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const name = /^event: (.*)$/m.exec(block)![1]!
      return [name, JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>]
    })
}

const post = (body: unknown, headers: Record<string, string> = { 'x-api-key': TOKEN }) =>
  fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

const weather: Anthropic.Tool = {
  name: 'weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

/** The same tests over OpenAI-compatible instances (a wrapper and a pool) and an Anthropic-provider instance. */
const upstreams = [
  { kind: 'OpenAI-compatible', model: 'assistant', upstreamModels: ['model-a', 'model-b'] },
  { kind: 'Anthropic', model: 'claude_group', upstreamModels: ['claude-sonnet-4-5'] },
] as const

describe.each(upstreams)('over $kind instances', ({ kind, model, upstreamModels }) => {
  test('a JSON answer: a message under the name asked for, with usage, and who served it in the headers', async () => {
    const { data: message, response } = await client.messages
      .create({
        model,
        max_tokens: 50,
        system: 'be brief',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
        stop_sequences: ['END'],
        metadata: { user_id: 'user-1' },
      })
      .withResponse()
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model,
      stop_reason: 'end_turn',
      stop_sequence: null,
    })
    expect(message.id).toMatch(/^msg_/)
    expect(message.content).toHaveLength(1)
    expect(message.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(/^mock reply from [\w-]+: hello there/),
    })
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)
    expect(response.headers.get('x-llmpool-instance')).toContain(lastRequest().model)
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')

    // The system prompt and the settings reached the upstream, in its own API's shape.
    const body = lastBody()
    expect(body).toMatchObject({ max_tokens: 50 })
    if (kind === 'Anthropic') {
      expect(JSON.stringify(body.system)).toContain('be brief')
      expect(body).toMatchObject({ stop_sequences: ['END'], metadata: { user_id: 'user-1' } })
      expect(lastRequest().headers['x-api-key']).toBe('test-anthropic-key')
    } else {
      expect((body.messages as unknown[])[0]).toEqual({ role: 'system', content: 'be brief' })
      expect(body).toMatchObject({ stop: ['END'], user: 'user-1' })
      expect(lastRequest().headers.authorization).toBe('Bearer test-openai-key')
    }
    const line = accessLines.findLast((entry) => entry.path === '/v1/messages')
    expect(line).toMatchObject({ method: 'POST', target: model, stream: false, status: 200, attempts: 1, fallbacks: 0 })
    expect(line!.instance).toContain(lastRequest().model)
  })

  test('the sampling settings older clients still send (temperature, top_p, top_k) reach the upstream', async () => {
    const response = await post({
      model,
      max_tokens: 20,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(response.status).toBe(200)
    // Anthropic's API takes top_p or temperature, not both: the AI SDK keeps temperature; OpenAI's has no top_k.
    expect(lastBody()).toMatchObject(
      kind === 'Anthropic' ? { temperature: 0.2, top_k: 5 } : { temperature: 0.2, top_p: 0.9 },
    )
  })

  test('a streamed answer: text events, then a final message with its stop reason and usage', async () => {
    const stream = client.messages.stream({
      model,
      max_tokens: 100,
      system: 'be brief',
      messages: [{ role: 'user', content: 'stream these words please' }],
    })
    let streamed = ''
    stream.on('text', (delta) => void (streamed += delta))
    const message = await stream.finalMessage()
    expect(streamed).toMatch(/^mock reply from [\w-]+: stream these words please/)
    expect(message).toMatchObject({
      model,
      role: 'assistant',
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: streamed }],
    })
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)
    const body = lastBody()
    expect(body.stream).toBe(true)
    expect(JSON.stringify(kind === 'Anthropic' ? body.system : body.messages)).toContain('be brief')
  })

  test('the events of a stream, in order, and the routing headers', async () => {
    const response = await post({
      model,
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'one two three' }],
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('x-llmpool-instance')).toContain(lastRequest().model)
    const list = events(await response.text())
    const names = list.map(([name]) => name)
    expect(names[0]).toBe('message_start')
    expect(names.slice(1, 3)).toEqual(['content_block_start', 'content_block_delta'])
    expect(names.slice(-4)).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'])
    expect(list[0]![1]).toMatchObject({
      type: 'message_start',
      message: { type: 'message', role: 'assistant', model, content: [], stop_reason: null },
    })
    expect(list.at(-2)![1]).toMatchObject({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: expect.any(Number) },
    })
    const text = list
      .flatMap(([name, data]) => (name === 'content_block_delta' ? [(data.delta as { text: string }).text] : []))
      .join('')
    expect(text).toMatch(/: one two three$/)
  })

  test('a tool use round trip: tool_use, then the tool_result goes back up and an answer comes', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'call tool weather {"city":"Paris"}' }]
    const message = await client.messages.create({
      model,
      max_tokens: 100,
      messages,
      tools: [weather],
      tool_choice: { type: 'any' },
    })
    expect(message.stop_reason).toBe('tool_use')
    const call = message.content.find((block) => block.type === 'tool_use')!
    expect(call).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'Paris' }, id: expect.any(String) })
    const sent = lastBody()
    if (kind === 'Anthropic') {
      expect(sent.tools).toEqual([
        expect.objectContaining({ name: 'weather', input_schema: expect.objectContaining({ required: ['city'] }) }),
      ])
      expect(sent.tool_choice).toMatchObject({ type: 'any' })
    } else {
      expect(sent.tools).toEqual([
        expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'weather' }) }),
      ])
      expect(sent.tool_choice).toBe('required')
    }

    const stream = client.messages.stream({ model, max_tokens: 100, messages, tools: [weather] })
    const streamed = await stream.finalMessage()
    expect(streamed.stop_reason).toBe('tool_use')
    expect(streamed.content.find((block) => block.type === 'tool_use')).toMatchObject({
      name: 'weather',
      input: { city: 'Paris' },
    })

    const answer = await client.messages.create({
      model,
      max_tokens: 100,
      tools: [weather],
      messages: [
        ...messages,
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18 degrees' }] },
      ],
    })
    expect(answer.stop_reason).toBe('end_turn')
    expect(answer.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^mock reply/) })
    const last = (lastBody().messages as Record<string, unknown>[]).at(-1)!
    if (kind === 'Anthropic')
      expect(last).toMatchObject({
        role: 'user',
        content: [expect.objectContaining({ type: 'tool_result', tool_use_id: call.id })],
      })
    else expect(last).toMatchObject({ role: 'tool', tool_call_id: call.id, content: '18 degrees' })
  })

  test('an image block reaches the upstream', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64')
    await client.messages.create({
      model,
      max_tokens: 20,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'text', text: 'what is this' },
          ],
        },
      ],
    })
    expect(JSON.stringify(lastBody().messages)).toContain(png)
  })

  test('an error after the stream started is an error event, never a message_stop', async () => {
    for (const name of upstreamModels) upstream.setFaults(name, { streamCutAfterChunks: 2 })
    const response = await post({
      model,
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'one two three four five six' }],
    })
    expect(response.status).toBe(200)
    const list = events(await response.text())
    expect(list.map(([name]) => name)).toContain('content_block_delta')
    expect(list.at(-1)).toEqual([
      'error',
      { type: 'error', error: { type: 'api_error', message: expect.stringMatching(/stream failed after it started/) } },
    ])
    expect(list.map(([name]) => name)).not.toContain('message_stop')
    expect(list.map(([name]) => name)).not.toContain('message_delta')

    const error = await failure(
      client.messages
        .stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'one two three four five six' }] })
        .finalMessage(),
    )
    expect(error.type).toBe('api_error')
  })
})

describe('stop reasons', () => {
  const openAIAnswer = (finish: string) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'model-a',
    choices: [{ index: 0, message: { role: 'assistant', content: 'cut sh' }, finish_reason: finish }],
    usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
  })
  const anthropicAnswer = (stop: string, sequence: string | null = null) => ({
    id: 'msg_upstream',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [{ type: 'text', text: 'cut sh' }],
    stop_reason: stop,
    stop_sequence: sequence,
    usage: { input_tokens: 7, output_tokens: 3 },
  })

  test('max_tokens from an OpenAI-compatible upstream (finish_reason length) and from Anthropic', async () => {
    upstream.setFaults('model-a', { status: 200, body: openAIAnswer('length') })
    upstream.setFaults('model-b', { status: 200, body: openAIAnswer('length') })
    upstream.setFaults('claude-sonnet-4-5', { status: 200, body: anthropicAnswer('max_tokens') })
    for (const model of ['main_pool', 'claude_group']) {
      const message = await client.messages.create({
        model,
        max_tokens: 3,
        messages: [{ role: 'user', content: 'write a long story' }],
      })
      expect(message).toMatchObject({
        stop_reason: 'max_tokens',
        stop_sequence: null,
        content: [{ type: 'text', text: 'cut sh' }],
        usage: { input_tokens: 7, output_tokens: 3 },
      })
    }
  })

  test('stop_sequence with the sequence from an Anthropic upstream, JSON and streamed', async () => {
    upstream.setFaults('claude-sonnet-4-5', { status: 200, body: anthropicAnswer('stop_sequence', 'END') })
    const message = await client.messages.create({
      model: 'claude_group',
      max_tokens: 50,
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'count' }],
    })
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' })

    const sse = [
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            ...anthropicAnswer('stop_sequence'),
            content: [],
            stop_reason: null,
            usage: { input_tokens: 7, output_tokens: 1 },
          },
        },
      ],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'one two' } },
      ],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' },
          usage: { output_tokens: 2 },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    ]
      .map(([name, data]) => `event: ${name as string}\ndata: ${JSON.stringify(data)}\n\n`)
      .join('')
    upstream.setFaults('claude-sonnet-4-5', {
      status: 200,
      body: sse,
      headers: { 'content-type': 'text/event-stream' },
    })
    const streamed = await client.messages
      .stream({
        model: 'claude_group',
        max_tokens: 50,
        stop_sequences: ['END'],
        messages: [{ role: 'user', content: 'count' }],
      })
      .finalMessage()
    expect(streamed).toMatchObject({
      stop_reason: 'stop_sequence',
      stop_sequence: 'END',
      content: [{ type: 'text', text: 'one two' }],
      usage: { input_tokens: 7, output_tokens: 2 },
    })
  })
})

describe('fallback', () => {
  test('the first instance fails: the answer comes from the next echelon (an Anthropic instance), JSON and streamed', async () => {
    upstream.setFaults('first-down', { status: 500 })
    const { data: message, response } = await client.messages
      .create({ model: 'fallback_group', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'mock reply from claude-haiku-4-5: hi' })
    expect(response.headers.get('x-llmpool-instance')).toContain('claude-haiku-4-5')
    expect(response.headers.get('x-llmpool-attempts')).toBe('2')
    expect(upstream.requests('first-down')).toHaveLength(1)

    const stream = client.messages.stream({
      model: 'fallback_group',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi again' }],
    })
    const streamed = await stream.finalMessage()
    expect(streamed.content[0]).toMatchObject({ type: 'text', text: 'mock reply from claude-haiku-4-5: hi again' })
    expect(accessLines.findLast((entry) => entry.path === '/v1/messages')).toMatchObject({
      stream: true,
      attempts: 2,
      fallbacks: 1,
      status: 200,
    })
  })

  test('every instance fails: an Anthropic error with the gateway status', async () => {
    upstream.setFaults('first-down', { status: 500 })
    upstream.setFaults('claude-haiku-4-5', { status: 500 })
    const error = await failure(
      client.messages.create({ model: 'fallback_group', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    )
    expect(error.status).toBe(502)
    expect(error.error).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } })
  })
})

describe('errors in Anthropic shape', () => {
  test('an unknown model is a 404 not_found_error', async () => {
    const error = await failure(
      client.messages.create({ model: 'no_such_pool', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    )
    expect(error.status).toBe(404)
    expect(error.type).toBe('not_found_error')
    expect(error.message).toMatch(/no_such_pool/)
  })

  test('a rate-limited pool is a 429 rate_limit_error with retry-after, as on the chat endpoint', async () => {
    const ask = { model: 'tight_pool', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] }
    await client.messages.create(ask)
    const error = await failure(client.messages.create(ask))
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    expect(error.type).toBe('rate_limit_error')
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })

  test('a body over the size limit is a 413 request_too_large', async () => {
    const response = await post({
      model: 'assistant',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024) }],
    })
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'request_too_large', message: expect.any(String) },
    })
  })

  test('count_tokens is not offered: a 404 not_found_error', async () => {
    const error = await failure(
      client.messages.countTokens({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }),
    )
    expect(error.status).toBe(404)
    expect(error.type).toBe('not_found_error')
  })

  test.each([
    ['{not json', /not valid JSON/],
    [{ max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, /^model: /],
    [{ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }, /^max_tokens: /],
    [{ model: 'assistant', max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }, /^max_tokens: /],
    [{ model: 'assistant', max_tokens: 10, messages: [] }, /^messages: /],
    [{ model: 'assistant', max_tokens: 10, stream: 'yes', messages: [{ role: 'user', content: 'hi' }] }, /^stream: /],
    [{ model: 'assistant', max_tokens: 10, messages: [{ role: 'system', content: 'hi' }] }, /^messages\.0\.role: /],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 42 },
        ],
      },
      /^messages\.2\.content: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] },
      /^messages\.0\.content\.0\.type: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: '@@@' } }],
          },
        ],
      },
      /^messages\.0\.content\.0\.source\.data: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'base64', media_type: 'text/plain', data: 'aGk=' } }],
          },
        ],
      },
      /^messages\.0\.content\.0\.source\.media_type: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'hi' }] }],
      },
      /^messages\.0\.content\.0\.tool_use_id: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: 'x' }] }],
      },
      /^messages\.0\.content\.0\.input: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, system: [{ type: 'image' }], messages: [{ role: 'user', content: 'hi' }] },
      /^system\.0: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, tools: [{ name: 'f' }], messages: [{ role: 'user', content: 'hi' }] },
      /^tools\.0\.input_schema: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'hi' }],
      },
      /^tools\.0\.type: /,
    ],
    [
      {
        model: 'assistant',
        max_tokens: 10,
        tool_choice: { type: 'sometimes' },
        messages: [{ role: 'user', content: 'hi' }],
      },
      /^tool_choice\.type: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, temperature: 'hot', messages: [{ role: 'user', content: 'hi' }] },
      /^temperature: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, stop_sequences: 'END', messages: [{ role: 'user', content: 'hi' }] },
      /^stop_sequences: /,
    ],
    [
      { model: 'assistant', max_tokens: 10, metadata: { user_id: 7 }, messages: [{ role: 'user', content: 'hi' }] },
      /^metadata\.user_id: /,
    ],
  ])('400 invalid_request_error naming the field: %j', async (body, message) => {
    const response = await post(body)
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(message) },
    })
  })

  test('the official client raises BadRequestError with the field named', async () => {
    const error = await failure(
      client.messages.create({
        model: 'assistant',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'tool_result', tool_use_id: 'nope' },
            ],
          },
        ],
      }),
    )
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect(error.message).toMatch(/messages\.0\.content\.1\.tool_use_id/)
  })

  test('5 malformed requests, JSON and streamed, reach no upstream and open no breaker (threshold 1)', async () => {
    const fragile = async () =>
      (await gateway.router.state()).instances.filter((instance) => instance.key.startsWith('fragile_group.'))
    const malformed = [
      {
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }] }],
      },
      {
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x' }] }],
      },
      {
        max_tokens: 10,
        stream: true,
        tools: [{ name: 'f', input_schema: 'none' }],
        messages: [{ role: 'user', content: 'hi' }],
      },
      { max_tokens: 10, messages: [{ role: 'tool', content: 'hi' }] },
      { max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] },
    ]
    for (const body of malformed) expect((await post({ model: 'fragile_group', ...body })).status).toBe(400)
    expect(upstream.stats().arrivals).toBe(0)
    const instances = await fragile()
    expect(instances).toHaveLength(2)
    for (const instance of instances) {
      expect(instance.breaker, instance.key).toMatchObject({ state: 'closed', failures: 0 })
      expect(instance.health.healthy, instance.key).toBe(true)
      expect(instance.cooldown, instance.key).toBeUndefined()
    }
    const ask = { model: 'fragile_group', max_tokens: 10, messages: [{ role: 'user', content: 'still fine' }] }
    expect((await post(ask)).status).toBe(200)
    // The control: one real upstream failure does open a breaker here (the request falls back and is answered).
    upstream.setFaults('model-a', { status: 500 })
    expect((await post(ask)).status).toBe(200)
    expect((await fragile()).map((instance) => instance.breaker.state)).toEqual(['open', 'closed'])
  })
})

describe('auth', () => {
  test('x-api-key or Authorization: Bearer carry the token; anthropic-version is accepted, not required', async () => {
    const ask = { model: 'assistant', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] }
    expect((await client.messages.create(ask)).content[0]).toMatchObject({ type: 'text' })
    const bearer = new Anthropic({ baseURL: gateway.url, apiKey: null, authToken: TOKEN, maxRetries: 0 })
    expect((await bearer.messages.create(ask)).content[0]).toMatchObject({ type: 'text' })
    expect((await post(ask, { 'x-api-key': TOKEN })).status).toBe(200)
    expect((await post(ask, { 'x-api-key': TOKEN, 'anthropic-version': '2023-06-01' })).status).toBe(200)
  })

  test('a wrong or missing token is a 401 authentication_error, and nothing is sent upstream', async () => {
    for (const apiKey of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const wrong = new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 })
      const error = await failure(
        wrong.messages.create({ model: 'assistant', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      )
      expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
      expect(error.error).toEqual({
        type: 'error',
        error: { type: 'authentication_error', message: expect.any(String) },
      })
      expect(JSON.stringify(error.error)).not.toContain(apiKey)
    }
    const missing = await post({ model: 'assistant', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, {})
    expect(missing.status).toBe(401)
    expect(upstream.stats().arrivals).toBe(0)
    // x-api-key is this endpoint's: the OpenAI-style routes still want the bearer token.
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { 'x-api-key': TOKEN } })).status).toBe(401)
  })
})

describe('stream parts that interleave (OpenAI-compatible providers keep text open while tool calls stream)', () => {
  const parts: LanguageModelV3StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'reasoning-start', id: 'r' },
    { type: 'reasoning-delta', id: 'r', delta: 'hidden thoughts' },
    { type: 'reasoning-end', id: 'r' },
    { type: 'text-start', id: 't' },
    { type: 'text-delta', id: 't', delta: 'Let me check. ' },
    { type: 'tool-input-start', id: 'c1', toolName: 'weather' },
    { type: 'tool-input-delta', id: 'c1', delta: '{"city":' },
    { type: 'text-delta', id: 't', delta: 'Both cities.' },
    { type: 'tool-input-start', id: 'c2', toolName: 'weather' },
    { type: 'tool-input-delta', id: 'c2', delta: '{"city":"Rome"}' },
    { type: 'tool-input-delta', id: 'c1', delta: '"Paris"}' },
    { type: 'tool-input-end', id: 'c1' },
    { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: '{"city":"Paris"}' },
    { type: 'tool-input-end', id: 'c2' },
    { type: 'tool-call', toolCallId: 'c2', toolName: 'weather', input: '{"city":"Rome"}' },
    // A provider that sends a call whole, without input deltas; and one the upstream ran itself.
    { type: 'tool-call', toolCallId: 'c3', toolName: 'weather', input: '{"city":"Oslo"}' },
    { type: 'tool-call', toolCallId: 'c4', toolName: 'web_search', input: '{}', providerExecuted: true },
    { type: 'text-end', id: 't' },
    { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: mockUsage(12, 34) },
  ]
  let scripted: Gateway

  beforeAll(async () => {
    scripted = await startGateway({
      config: writeConfiguration(
        {
          '_registry.toml': '[task_groups]\nscripted_group = { file = "scripted.toml" }\n',
          'scripted.toml':
            '[task_group]\nname = "scripted_group"\n[task_group.echelons.main]\nmodels = ["scripted:interleaved"]\nmax_retries = 0\n',
        },
        'scripted',
      ),
      router: FAST_ROUTER,
      providers: {
        scripted: {
          createModel: () => new MockLanguageModel({ doStream: () => ({ stream: simulateStream({ chunks: parts }) }) }),
        },
      },
    })
  })
  afterAll(() => scripted.close())

  test('blocks come one after another, in the order their content began; the final message has them all', async () => {
    const response = await fetch(`${scripted.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'scripted_group',
        max_tokens: 100,
        stream: true,
        tools: [weather],
        messages: [{ role: 'user', content: 'weather?' }],
      }),
    })
    const list = events(await response.text())
    // Each block starts, gets its deltas and stops before the next one starts.
    let open: number | undefined
    let next = 0
    for (const [name, data] of list) {
      if (name === 'content_block_start') {
        expect(open).toBeUndefined()
        expect(data.index).toBe(next++)
        open = data.index as number
      } else if (name === 'content_block_delta') expect(data.index).toBe(open)
      else if (name === 'content_block_stop') {
        expect(data.index).toBe(open)
        open = undefined
      }
    }
    expect(open).toBeUndefined()

    const client = new Anthropic({ baseURL: scripted.url, apiKey: 'unused', maxRetries: 0 })
    const message = await client.messages
      .stream({
        model: 'scripted_group',
        max_tokens: 100,
        tools: [weather],
        messages: [{ role: 'user', content: 'weather?' }],
      })
      .finalMessage()
    expect(message.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Let me check. ' }),
      expect.objectContaining({ type: 'tool_use', id: 'c1', name: 'weather', input: { city: 'Paris' } }),
      expect.objectContaining({ type: 'text', text: 'Both cities.' }),
      expect.objectContaining({ type: 'tool_use', id: 'c2', name: 'weather', input: { city: 'Rome' } }),
      expect.objectContaining({ type: 'tool_use', id: 'c3', name: 'weather', input: { city: 'Oslo' } }),
    ])
    expect(message).toMatchObject({ stop_reason: 'tool_use', usage: { input_tokens: 12, output_tokens: 34 } })
  })
})
