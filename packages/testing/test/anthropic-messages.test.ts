import { createAnthropic } from '@ai-sdk/anthropic'
import { generateText, stepCountIs, streamText, tool } from 'ai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createMockUpstream, type MockUpstream } from '../src/index'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.reset()
  upstream.clearFaults()
  upstream.clearReplies()
})

const anthropic = () => createAnthropic({ baseURL: `${upstream.url}/v1`, apiKey: 'x' })

describe('Anthropic Messages through the AI SDK', () => {
  it('generateText reads the message, its stop reason and usage', async () => {
    const result = await generateText({ model: anthropic()('claude-haiku-4-5'), prompt: 'hello claude' })
    expect(result.text).toBe('mock reply from claude-haiku-4-5: hello claude')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.inputTokens).toBeGreaterThan(0)
    const [request] = upstream.requests('claude-haiku-4-5')
    expect(request).toMatchObject({ api: 'anthropic', path: '/v1/messages', outcome: 'completed' })
    expect(request?.headers['x-api-key']).toBe('x')
  })

  it('streamText parses the event stream', async () => {
    const result = streamText({ model: anthropic()('claude-haiku-4-5'), prompt: 'stream from claude' })
    const pieces: string[] = []
    for await (const piece of result.textStream) pieces.push(piece)
    expect(pieces.join('')).toBe('mock reply from claude-haiku-4-5: stream from claude')
    expect(pieces.length).toBeGreaterThan(3)
    expect(await result.finishReason).toBe('stop')
    expect((await result.usage).outputTokens).toBeGreaterThan(0)
  })

  it('the raw stream has the Anthropic event sequence', async () => {
    const response = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'claude',
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'one two' }],
      }),
    })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((match) => match[1])
    expect(events[0]).toBe('message_start')
    expect(events.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    expect(events).toContain('content_block_delta')
  })

  it('calls a tool with generateText (JSON) and streamText (input_json_delta)', async () => {
    const tools = {
      weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` }),
    }
    const generated = await generateText({
      model: anthropic()('claude'),
      prompt: 'call tool weather {"city":"Oslo"}',
      tools,
      stopWhen: stepCountIs(3),
    })
    expect(generated.steps[0]?.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Oslo' } }])
    expect(generated.steps).toHaveLength(2)
    const streamed = streamText({ model: anthropic()('claude'), prompt: 'call tool weather {"city":"Rome"}', tools })
    expect(await streamed.toolCalls).toMatchObject([{ toolName: 'weather', input: { city: 'Rome' } }])
    expect(await streamed.finishReason).toBe('tool-calls')
  })

  it('answers faults in the Anthropic error shape', async () => {
    upstream.setFaults('claude', { status: 529 })
    const overloaded = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'claude', messages: [] }),
    })
    expect(overloaded.status).toBe(529)
    expect(await overloaded.json()).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    })
    upstream.setFaults('claude', { quotaExhausted: true })
    const quota = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'claude', messages: [] }),
    })
    expect(quota.status).toBe(400)
    expect(await quota.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringContaining('credit balance') },
    })
  })

  it('an error event in a 200 stream fails the AI SDK stream', async () => {
    upstream.setFaults('claude', { errorInBody: true })
    const errors: unknown[] = []
    const result = streamText({
      model: anthropic()('claude'),
      prompt: 'x',
      maxRetries: 0,
      onError: ({ error }) => void errors.push(error),
    })
    await result.consumeStream()
    expect(errors).toHaveLength(1)
    expect(String((errors[0] as { message?: string }).message ?? errors[0])).toMatch(/Overloaded/)
    await expect(result.text).rejects.toThrow()
  })
})
