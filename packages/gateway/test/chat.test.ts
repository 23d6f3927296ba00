/** The gateway through the official openai client: JSON, streaming, tools, models. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
const gateways: Record<'passThrough' | 'aiSdk', Gateway> = {} as never

beforeAll(async () => {
  upstream = await createMockUpstream()
  const env = { MOCK_URL: upstream.url }
  gateways.passThrough = await startGateway({ config: FIXTURE, env, router: FAST_ROUTER })
  gateways.aiSdk = await startGateway({ config: FIXTURE, env, router: FAST_ROUTER, passThrough: false })
})
afterAll(async () => {
  await Promise.all(Object.values(gateways).map((gateway) => gateway.close()))
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

const weather = {
  type: 'function' as const,
  function: {
    name: 'weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

describe.each(['passThrough', 'aiSdk'] as const)('chat completions (%s)', (mode) => {
  const client = () => new OpenAI({ baseURL: `${gateways[mode].url}/v1`, apiKey: 'unused', maxRetries: 0 })

  test('a JSON completion comes back in OpenAI shape, under the model name asked for', async () => {
    for (const model of ['main_wrapper', 'group_wrapper', 'main_pool', 'main_group']) {
      const completion = await client().chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'hello there' }] },
        ],
        temperature: 0.2,
        max_tokens: 50,
        top_p: 0.9,
        stop: ['\n\n'],
        seed: 7,
      })
      expect(completion.object).toBe('chat.completion')
      expect(completion.model).toBe(model)
      expect(completion.choices[0]!.message.role).toBe('assistant')
      expect(completion.choices[0]!.message.content).toMatch(/^mock reply from model-[ab]: hello there/)
      expect(completion.choices[0]!.finish_reason).toBe('stop')
      expect(completion.usage!.total_tokens).toBeGreaterThan(0)
    }
    // The pass-through sends the client's body itself (undici); the AI SDK path sends its own (with its user agent).
    const agents = upstream.requests().map((request) => String(request.headers['user-agent'] ?? ''))
    expect(agents.every((agent) => agent.includes('ai-sdk'))).toBe(mode === 'aiSdk')
    const bodies = upstream.requests().map((request) => request.body as Record<string, unknown>)
    expect(bodies.every((body) => body.temperature === 0.2 && body.top_p === 0.9 && body.seed === 7)).toBe(true)
    expect(new Set(bodies.map((body) => body.model))).toEqual(new Set(['model-a', 'model-b']))
  })

  test('a streamed completion: role, content deltas, finish, usage, [DONE]', async () => {
    const stream = await client().chat.completions.create({
      model: 'main_pool',
      messages: [{ role: 'user', content: 'stream these words please' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let role: string | undefined
    let finish: string | null | undefined
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk')
      expect(chunk.model).toBe('main_pool')
      const choice = chunk.choices[0]
      if (choice?.delta.role) role = choice.delta.role
      text += choice?.delta.content ?? ''
      if (choice?.finish_reason) finish = choice.finish_reason
      if (chunk.usage) usage = chunk.usage
    }
    expect(role).toBe('assistant')
    expect(text).toMatch(/^mock reply from model-[ab]: stream these words please/)
    expect(finish).toBe('stop')
    expect(usage!.completion_tokens).toBeGreaterThan(0)
  })

  test('tools pass through and a tool call comes back, JSON and streamed; tool results go back up', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'call tool weather {"city":"Paris"}' },
    ]
    const completion = await client().chat.completions.create({
      model: 'main_wrapper',
      messages,
      tools: [weather],
      tool_choice: 'auto',
    })
    const call = completion.choices[0]!.message.tool_calls![0]!
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call.type).toBe('function')
    if (call.type !== 'function') throw new Error('not a function call')
    expect(call.function.name).toBe('weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    const sent = upstream.requests().at(-1)!.body as { tools: unknown[] }
    expect(sent.tools).toHaveLength(1)

    const stream = await client().chat.completions.create({
      model: 'main_wrapper',
      messages,
      tools: [weather],
      stream: true,
    })
    let name = ''
    let args = ''
    let finish: string | null | undefined
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += delta.function?.name ?? ''
        args += delta.function?.arguments ?? ''
      }
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(name).toBe('weather')
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expect(finish).toBe('tool_calls')

    const answer = await client().chat.completions.create({
      model: 'main_wrapper',
      tools: [weather],
      messages: [
        ...messages,
        completion.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: '18 degrees' },
      ],
    })
    expect(answer.choices[0]!.message.content).toMatch(/^mock reply/)
    const last = upstream.requests().at(-1)!.body as { messages: { role: string; tool_call_id?: string }[] }
    expect(last.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: call.id })
  })
})

test('models.list() names every wrapper, pool and task group', async () => {
  const client = new OpenAI({ baseURL: `${gateways.passThrough.url}/v1`, apiKey: 'unused' })
  const ids: string[] = []
  for await (const model of client.models.list()) ids.push(model.id)
  expect(ids.sort()).toEqual([
    'failing_group',
    'group_wrapper',
    'hanging_group',
    'main_group',
    'main_pool',
    'main_wrapper',
    'tight_pool',
    'unreachable_group',
  ])
})

test('an error inside a committed stream is an SSE error event, never a clean [DONE]', async () => {
  upstream.setFaults('model-a', { streamCutAfterChunks: 2 })
  upstream.setFaults('model-b', { streamCutAfterChunks: 2 })
  const response = await fetch(`${gateways.passThrough.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'main_pool',
      stream: true,
      messages: [{ role: 'user', content: 'one two three four five' }],
    }),
  })
  expect(response.status).toBe(200)
  const text = await response.text()
  const events = text.split('\n\n').filter(Boolean)
  expect(events.at(-1)).toMatch(/^data: \{"error":\{/)
  expect(JSON.parse(events.at(-1)!.slice('data: '.length)).error.code).toBe('stream_interrupted')
  expect(text).not.toContain('[DONE]')
  expect(text).not.toContain('"finish_reason":"stop"')
})
