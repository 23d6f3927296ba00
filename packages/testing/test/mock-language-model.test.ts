import { APICallError } from '@ai-sdk/provider'
import { generateText, streamText } from 'ai'
import { describe, expect, it } from 'vitest'
import {
  FakeClock,
  MockLanguageModel,
  mockApiCallError,
  mockGenerateResult,
  mockStreamResult,
  simulateStream,
} from '../src/index'

describe('MockLanguageModel', () => {
  it('answers with the echo reply by default, through generateText and streamText', async () => {
    const model = new MockLanguageModel({ modelId: 'm1' })
    expect(model).toMatchObject({ specificationVersion: 'v3', provider: 'mock', modelId: 'm1', supportedUrls: {} })
    expect((await generateText({ model, prompt: 'hello' })).text).toBe('mock reply from m1: hello')
    const streamed = streamText({ model, prompt: 'hello stream' })
    const pieces: string[] = []
    for await (const piece of streamed.textStream) pieces.push(piece)
    expect(pieces).toEqual(['mock', ' reply', ' from', ' m1:', ' hello', ' stream'])
    expect(model.doGenerateCalls).toHaveLength(1)
    expect(model.doStreamCalls).toHaveLength(1)
  })

  it('records the call options', async () => {
    const model = new MockLanguageModel({ doGenerate: mockGenerateResult('ok') })
    await generateText({ model, prompt: 'recorded', temperature: 0.3, maxOutputTokens: 50 })
    const [call] = model.doGenerateCalls
    expect(call).toMatchObject({ temperature: 0.3, maxOutputTokens: 50 })
    expect(call?.prompt).toEqual([{ role: 'user', content: [{ type: 'text', text: 'recorded' }] }])
  })

  it('consumes a list of results in order, throwing the errors in it, and fails past its end', async () => {
    const model = new MockLanguageModel({
      doGenerate: [
        mockGenerateResult('first'),
        mockApiCallError({ status: 503 }),
        mockGenerateResult({ text: 'third', usage: { inputTokens: 3, outputTokens: 4 } }),
      ],
    })
    expect((await generateText({ model, prompt: 'x', maxRetries: 0 })).text).toBe('first')
    const error = await generateText({ model, prompt: 'x', maxRetries: 0 }).catch((caught: unknown) => caught)
    expect(APICallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ statusCode: 503, isRetryable: true })
    const third = await generateText({ model, prompt: 'x', maxRetries: 0 })
    expect(third.text).toBe('third')
    expect(third.usage).toMatchObject({ inputTokens: 3, outputTokens: 4 })
    await expect(generateText({ model, prompt: 'x', maxRetries: 0 })).rejects.toThrow(/call 4, but only 3 results/)
  })

  it('takes a function of the options and the call index', async () => {
    const model = new MockLanguageModel({ doGenerate: async (_options, call) => mockGenerateResult(`call ${call}`) })
    expect((await generateText({ model, prompt: 'x' })).text).toBe('call 0')
    expect((await generateText({ model, prompt: 'x' })).text).toBe('call 1')
  })

  it('one Error fails every call; an aborted signal fails before answering', async () => {
    const failing = new MockLanguageModel({
      doGenerate: mockApiCallError({ status: 429, retryAfterMs: 1500, isRetryable: false }),
    })
    const error = (await generateText({ model: failing, prompt: 'x', maxRetries: 0 }).catch(
      (caught: unknown) => caught,
    )) as APICallError
    expect(error.responseHeaders?.['retry-after-ms']).toBe('1500')
    expect(error.isRetryable).toBe(false)
    const controller = new AbortController()
    controller.abort(new Error('caller gave up'))
    const model = new MockLanguageModel()
    await expect(model.doGenerate({ prompt: [], abortSignal: controller.signal })).rejects.toThrow('caller gave up')
  })

  it('returns tool calls', async () => {
    const model = new MockLanguageModel({
      doGenerate: mockGenerateResult({ toolCalls: [{ toolName: 'search', input: { q: 'x' } }] }),
    })
    const result = await generateText({ model, prompt: 'x' })
    expect(result.finishReason).toBe('tool-calls')
    expect(result.toolCalls).toMatchObject([{ toolName: 'search', input: { q: 'x' }, dynamic: true }])
  })
})

describe('mockStreamResult', () => {
  it('streams text chunks with a list of stream results', async () => {
    const model = new MockLanguageModel({
      doStream: [mockStreamResult(['Hel', 'lo']), mockStreamResult({ chunks: ['again'], usage: { outputTokens: 9 } })],
    })
    expect(await streamText({ model, prompt: 'x' }).text).toBe('Hello')
    const second = streamText({ model, prompt: 'x' })
    expect(await second.text).toBe('again')
    expect((await second.usage).outputTokens).toBe(9)
  })

  it('fails mid-stream with an error part after N chunks', async () => {
    const model = new MockLanguageModel({
      doStream: mockStreamResult({ chunks: ['a', 'b', 'c'], error: new Error('upstream died'), errorAfterChunks: 1 }),
    })
    const parts: string[] = []
    const errors: unknown[] = []
    const result = streamText({ model, prompt: 'x', onError: ({ error }) => void errors.push(error) })
    for await (const part of result.fullStream) if (part.type === 'text-delta') parts.push(part.text)
    expect(parts).toEqual(['a'])
    expect(String(errors[0])).toContain('upstream died')
  })

  it('or with a stream error, as a cut connection does', async () => {
    const { stream } = mockStreamResult({ chunks: ['a', 'b'], error: new Error('cut'), failAs: 'stream-error' })
    const reader = stream.getReader()
    const types: string[] = []
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return undefined
        types.push(value.type)
      }
    })().catch((caught: unknown) => caught)
    expect(types).toEqual(['stream-start', 'text-start', 'text-delta', 'text-delta'])
    expect(error).toEqual(new Error('cut'))
  })

  it('spaces chunks on an injected clock', async () => {
    const clock = new FakeClock()
    const reader = simulateStream({ chunks: [1, 2, 3], initialDelayMs: 100, chunkDelayMs: 10, clock }).getReader()
    const seen: number[] = []
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        seen.push(value)
      }
    })()
    await clock.advance(99)
    expect(seen).toEqual([])
    await clock.advance(1)
    expect(seen).toEqual([1])
    await clock.advance(20)
    await reading
    expect(seen).toEqual([1, 2, 3])
  })
})
