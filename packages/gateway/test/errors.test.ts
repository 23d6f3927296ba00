/** Router errors, bad requests and auth, as OpenAI-style error JSON with the right status. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI, { APIError } from 'openai'
import { appendFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { copyFixture, FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
let gateway: Gateway
let client: OpenAI

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: { ...FAST_ROUTER, requestTimeoutMs: 400 },
    maxBodyBytes: 64 * 1024,
  })
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

async function failure(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof APIError) return error
    throw error
  }
  throw new Error('the request succeeded')
}

const ask = (model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra })

/** OpenAI's error body: `param` names the request field at fault, `null` when none is. */
function expectErrorBody(error: APIError, code: string, param: string | null = null) {
  expect(error.error).toMatchObject({ code, param })
  const body = error.error as { message: string; type: string }
  expect(typeof body.message).toBe('string')
  expect(typeof body.type).toBe('string')
  expect(JSON.stringify(error.error)).not.toMatch(/test-key|\bat .*\.ts:\d+/)
}

describe('router errors', () => {
  test('429 with Retry-After (seconds, rounded up) and retry-after-ms when the pool is rate limited', async () => {
    await ask('tight_pool')
    const error = await failure(ask('tight_pool'))
    expect(error.status).toBe(429)
    expectErrorBody(error, 'rate_limited')
    const seconds = Number(error.headers?.get('retry-after'))
    const ms = Number(error.headers?.get('retry-after-ms'))
    expect(seconds).toBeGreaterThanOrEqual(1)
    expect(seconds).toBe(Math.ceil(ms / 1000))
  })

  test('502 when every upstream answered an error; 503 when none could be reached', async () => {
    upstream.setFaults('fail-a', { status: 500 })
    upstream.setFaults('fail-b', { status: 500 })
    const answered = await failure(ask('failing_group'))
    expect(answered.status).toBe(502)
    expectErrorBody(answered, 'all_attempts_failed')
    const unreachable = await failure(ask('unreachable_group'))
    expect(unreachable.status).toBe(503)
    expectErrorBody(unreachable, 'all_attempts_failed')
  })

  test('504 when the request deadline passes on a hanging upstream', async () => {
    upstream.setFaults('hang-model', { hang: true })
    const error = await failure(ask('hanging_group'))
    expect(error.status).toBe(504)
    expectErrorBody(error, 'request_timeout')
  })

  test('404 model_not_found for an unknown model, with param "model"', async () => {
    const error = await failure(ask('no_such_pool'))
    expect(error.status).toBe(404)
    expectErrorBody(error, 'model_not_found', 'model')
  })

  test('400 when an upstream rejects the request', async () => {
    upstream.setFaults('model-a', { status: 400 })
    upstream.setFaults('model-b', { status: 400 })
    const error = await failure(ask('main_pool'))
    expect(error.status).toBe(400)
    expectErrorBody(error, 'request_rejected')
  })
})

describe('bad requests', () => {
  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })

  test('400 for a body that is not JSON, or not a chat request; param names the field at fault', async () => {
    const user = { role: 'user', content: 'x' }
    for (const [body, code, param] of [
      ['{not json', 'invalid_json', null],
      ['[]', 'invalid_request', null],
      [JSON.stringify({ messages: [] }), 'invalid_value', 'model'],
      [JSON.stringify({ model: 'main_pool', messages: [] }), 'invalid_value', 'messages'],
      [
        JSON.stringify({ model: 'main_pool', messages: [{ role: 'wizard', content: 'x' }] }),
        'invalid_value',
        'messages[0].role',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [user, user, { role: 'user', content: 7 }] }),
        'invalid_value',
        'messages[2].content',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [user, { role: 'user', content: [{ type: 'audio' }] }] }),
        'invalid_value',
        'messages[1].content[0].type',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
        'invalid_value',
        'messages[0].content[0].text',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [{ role: 'tool', content: 'x' }] }),
        'invalid_value',
        'messages[0].tool_call_id',
      ],
      [JSON.stringify({ model: 'main_pool', messages: [user], temperature: 'hot' }), 'invalid_value', 'temperature'],
      [JSON.stringify({ model: 'main_pool', messages: [user], max_tokens: 'lots' }), 'invalid_value', 'max_tokens'],
      [JSON.stringify({ model: 'main_pool', messages: [user], max_tokens: -5 }), 'invalid_value', 'max_tokens'],
      [
        JSON.stringify({ model: 'main_pool', messages: [user], max_completion_tokens: 2.5 }),
        'invalid_value',
        'max_completion_tokens',
      ],
      [JSON.stringify({ model: 'main_pool', messages: [user], stop: [1] }), 'invalid_value', 'stop'],
      [JSON.stringify({ model: 'main_pool', messages: [user], stream: 'yes' }), 'invalid_value', 'stream'],
      [
        JSON.stringify({ model: 'main_pool', messages: [user], tools: [{ type: 'function' }] }),
        'invalid_value',
        'tools[0]',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [user], tool_choice: 'sometimes' }),
        'invalid_value',
        'tool_choice',
      ],
      [
        JSON.stringify({ model: 'main_pool', messages: [user], response_format: { type: 'yaml' } }),
        'invalid_value',
        'response_format',
      ],
      ['{"model":"main_pool","messages":[],"model":"main_pool"}', 'duplicate_key', 'model'],
    ] as const) {
      const response = await post(body)
      expect(response.status, body).toBe(400)
      const json = (await response.json()) as {
        error: { code: string; message: string; param: string | null; type: string }
      }
      expect(json.error, body).toMatchObject({ code, param, type: 'invalid_request_error' })
      // The message names the field too, for a reader of logs who never sees `param`.
      if (param !== null && code === 'invalid_value') expect(json.error.message.startsWith(`${param}: `)).toBe(true)
    }
    expect(upstream.stats().arrivals).toBe(0)
  })

  test('400 function_calling_disabled, with param "tools", for tools sent to a wrapper that has function calling off', async () => {
    const directory = copyFixture()
    writeFileSync(
      path.join(directory, 'wrappers', 'no-tools-wrappers.toml'),
      '[wrappers]\nno_tools_wrapper = { type = "task_group", task_group_name = "main_group" }\n\n[global]\nfunction_calling_enabled = false\n',
    )
    appendFileSync(
      path.join(directory, '_registry.toml'),
      '\n[wrappers.no_tools_wrappers]\nfile = "wrappers/no-tools-wrappers.toml"\n',
    )
    const strict = await startGateway({ config: directory, env: { MOCK_URL: upstream.url }, router: FAST_ROUTER })
    try {
      const tools: OpenAI.ChatCompletionTool[] = [
        { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } },
      ]
      const withTools = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'unused', maxRetries: 0 })
      const error = await failure(
        withTools.chat.completions.create({
          model: 'no_tools_wrapper',
          messages: [{ role: 'user', content: 'hi' }],
          tools,
        }),
      )
      expect(error.status).toBe(400)
      expectErrorBody(error, 'function_calling_disabled', 'tools')
      expect(upstream.stats().arrivals).toBe(0)
    } finally {
      await strict.close()
    }
  })

  test('413 for a body over the limit', async () => {
    const big = JSON.stringify({ model: 'main_pool', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] })
    const response = await post(big)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large')
  })

  test('404 for an unknown route', async () => {
    const response = await fetch(`${gateway.url}/v1/images/generations`, { method: 'POST', body: '{}' })
    expect(response.status).toBe(404)
  })
})

describe('bearer-token auth', () => {
  let guarded: Gateway
  beforeAll(async () => {
    guarded = await startGateway({
      config: FIXTURE,
      env: { MOCK_URL: upstream.url },
      router: FAST_ROUTER,
      token: 's3cret-token',
    })
  })
  afterAll(() => guarded.close())

  test('401 without a token or with a wrong one; the right one passes; /healthz stays open', async () => {
    for (const apiKey of ['wrong', 's3cret-token-but-longer', 's3cret-toke']) {
      const wrong = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey, maxRetries: 0 })
      const error = await failure(
        wrong.chat.completions.create({ model: 'main_pool', messages: [{ role: 'user', content: 'hi' }] }),
      )
      expect(error.status).toBe(401)
      expectErrorBody(error, 'invalid_api_key')
    }
    expect((await fetch(`${guarded.url}/v1/models`)).status).toBe(401)
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200)
    const right = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 's3cret-token', maxRetries: 0 })
    const completion = await right.chat.completions.create({
      model: 'main_pool',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(completion.choices[0]!.message.content).toMatch(/^mock reply/)
  })
})
