import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { RateLimitedError, type RouterEvent, StreamInterruptedError } from '../src/index'
import {
  disposeRouters,
  httpError,
  mockProvider,
  modelsCalled,
  partsStream,
  prompt,
  readAll,
  rejection,
  routerFor,
  setup,
  textParts,
  usage,
  watch,
} from './helpers'

afterEach(disposeRouters)

const group = (models: string[], echelon = '') => `
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = [${models.map((model) => `"mock:${model}"`).join(', ')}]
max_retries = 0
${echelon}
`

const head: LanguageModelV3StreamPart[] = [
  { type: 'stream-start', warnings: [] },
  { type: 'text-start', id: '1' },
  { type: 'text-delta', id: '1', delta: 'Hel' },
]
const finish: LanguageModelV3StreamPart = {
  type: 'finish',
  usage: usage(),
  finishReason: { unified: 'stop', raw: 'stop' },
}

const types = (parts: LanguageModelV3StreamPart[]) => parts.map((part) => part.type)
const text = (parts: LanguageModelV3StreamPart[]) =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')

async function instanceState(router: ReturnType<typeof routerFor>, key: string) {
  const state = await router.state()
  return state.instances.find((instance) => instance.key === key)!
}

describe('Streaming', { timeout: 5000 }, () => {
  describe('before the first content part, a stream is an attempt like any other', () => {
    test.each([
      ['doStream throws (an error status)', () => httpError(503)],
      [
        'an error part before any content',
        () =>
          [
            { type: 'stream-start', warnings: [] },
            { type: 'error', error: httpError(500) },
          ] as LanguageModelV3StreamPart[],
      ],
      [
        'a stream that ends before any content',
        () => [{ type: 'stream-start', warnings: [] }] as LanguageModelV3StreamPart[],
      ],
      [
        'a stream that breaks before any content',
        () =>
          partsStream([{ type: 'stream-start', warnings: [] }], {
            error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
          }),
      ],
    ])('%s: the request falls over to the next instance', async (_case, upstream) => {
      const config = await setup({ groups: { g: group(['a', 'b']) } })
      const mock = mockProvider()
      mock.streamParts.a = upstream
      const result = await routerFor(config, mock).stream('g', prompt)
      expect(result.routing.instance).toBe('g.e1/mock:b')
      expect(result.routing.attempts.map((attempt) => attempt.instance)).toEqual(['g.e1/mock:a', 'g.e1/mock:b'])
      const parts = await readAll(result.stream)
      expect(text(parts)).toBe('b-0b-1b-2')
      expect(types(parts).at(-1)).toBe('finish')
      expect(types(parts)).not.toContain('error')
    })

    test("the echelon's timeout bounds the time to the first content part", async () => {
      const config = await setup({ groups: { g: group(['a', 'b'], 'timeout = 2') } })
      const clock = new FakeClock()
      const mock = mockProvider({}, { clock })
      mock.streamParts.a = (call) =>
        partsStream([{ type: 'stream-start', warnings: [] }], { hang: true, signal: call.abortSignal })
      const start = clock.now()
      const result = watch(routerFor(config, mock, { clock }).stream('g', prompt))
      await clock.advance(2000)
      expect(result.settled).toBe(true)
      expect(mock.calls.map((call) => [call.model, call.at! - start])).toEqual([
        ['a', 0],
        ['b', 2000],
      ])
      expect(result.value!.routing.attempts[0]!.error?.kind).toBe('timeout')
    })
  })

  describe('after the first content part, the stream belongs to the caller', () => {
    test('an upstream failure becomes an error part, and there is no finish part', async () => {
      const config = await setup({ groups: { g: group(['a', 'b']) } })
      const mock = mockProvider()
      const failure = httpError(500, 'upstream broke')
      mock.streamParts.a = () => partsStream(head, { error: failure })
      const router = routerFor(config, mock)
      const events: RouterEvent[] = []
      router.on((event) => events.push(event))
      const result = await router.stream('g', prompt)
      expect(result.routing.instance).toBe('g.e1/mock:a')
      const parts = await readAll(result.stream)
      expect(types(parts)).toEqual(['stream-start', 'text-start', 'text-delta', 'error'])
      expect((parts.at(-1) as { error: unknown }).error).toBe(failure)
      expect(modelsCalled(mock.calls)).toEqual(['a'])
      expect(events.find((event) => event.type === 'stream_end')).toMatchObject({
        ok: false,
        instance: 'g.e1/mock:a',
        error: { kind: 'server_error' },
      })
    })

    test('an error part from upstream is passed on once; the stream that then ends has no clean finish', async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const mock = mockProvider()
      const failure = httpError(500, 'mid-stream error')
      mock.streamParts.a = () => [...head, { type: 'error', error: failure }]
      const parts = await readAll((await routerFor(config, mock).stream('g', prompt)).stream)
      expect(types(parts)).toEqual(['stream-start', 'text-start', 'text-delta', 'error'])
      expect((parts.at(-1) as { error: unknown }).error).toBe(failure)
    })

    test('a stream that ends without finish gets an error part', async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const mock = mockProvider()
      mock.streamParts.a = () => [...head, { type: 'text-end', id: '1' }]
      const parts = await readAll((await routerFor(config, mock).stream('g', prompt)).stream)
      expect(types(parts)).toEqual(['stream-start', 'text-start', 'text-delta', 'text-end', 'error'])
      expect((parts.at(-1) as { error: unknown }).error).toBeInstanceOf(StreamInterruptedError)
    })

    test('silence longer than streamIdleTimeoutMs is a failure: an error part ends the stream', async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const clock = new FakeClock()
      const mock = mockProvider()
      mock.streamParts.a = (call) => partsStream(head, { hang: true, signal: call.abortSignal })
      const result = await routerFor(config, mock, { clock, streamIdleTimeoutMs: 1000 }).stream('g', prompt)
      const reading = watch(readAll(result.stream))
      await clock.advance(999)
      expect(reading.settled).toBe(false)
      await clock.advance(1)
      expect(reading.settled).toBe(true)
      const parts = reading.value as LanguageModelV3StreamPart[]
      expect(types(parts)).toEqual(['stream-start', 'text-start', 'text-delta', 'error'])
      expect((parts.at(-1) as { error: Error }).error.name).toBe('TimeoutError')
    })

    test('a stream whose parts keep coming within streamIdleTimeoutMs runs on, however long it lasts', async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const clock = new FakeClock()
      const mock = mockProvider()
      // A part every 600 ms after the head: 3 s in all, never 1 s of silence.
      const rest: LanguageModelV3StreamPart[] = [
        { type: 'text-delta', id: '1', delta: 'l' },
        { type: 'text-delta', id: '1', delta: 'o' },
        { type: 'text-delta', id: '1', delta: '!' },
        { type: 'text-end', id: '1' },
        finish,
      ]
      mock.streamParts.a = () => {
        let index = 0
        return new ReadableStream<LanguageModelV3StreamPart>(
          {
            pull: (controller) => {
              if (index < head.length) return controller.enqueue(head[index++]!)
              const part = rest[index++ - head.length]
              if (part === undefined) return controller.close()
              return new Promise<void>((resolve) => clock.setTimeout(() => resolve(controller.enqueue(part)), 600))
            },
          },
          { highWaterMark: 0 },
        )
      }
      const result = await routerFor(config, mock, { clock, streamIdleTimeoutMs: 1000 }).stream('g', prompt)
      const reading = watch(readAll(result.stream))
      await clock.advance(2999)
      expect(reading.settled).toBe(false)
      await clock.advance(1)
      expect(reading.settled).toBe(true)
      const parts = reading.value as LanguageModelV3StreamPart[]
      expect(text(parts)).toBe('Hello!')
      expect(types(parts).at(-1)).toBe('finish')
    })

    test("after the first content the request's deadline no longer applies: the stream runs on, bounded by its idle timeout", async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const clock = new FakeClock()
      const mock = mockProvider()
      mock.streamParts.a = (call) => partsStream(head, { hang: true, signal: call.abortSignal })
      const result = await routerFor(config, mock, { clock, streamIdleTimeoutMs: 20_000 }).stream('g', prompt, {
        timeoutMs: 5000,
      })
      const reading = watch(readAll(result.stream))
      await clock.advance(5000)
      expect(reading.settled).toBe(false)
      expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(false)
      await clock.advance(15_000)
      expect(reading.settled).toBe(true)
      expect(types(reading.value as LanguageModelV3StreamPart[]).at(-1)).toBe('error')
      expect(mock.calls[0]!.call.abortSignal?.aborted).toBe(true)
    })
  })

  describe('the finish part says who answered', () => {
    test('providerMetadata.llmpool: the instance and the attempts made, after a fallback too', async () => {
      const config = await setup({ groups: { g: group(['a', 'b']) } })
      const mock = mockProvider()
      mock.streamParts.a = () => httpError(503)
      const result = await routerFor(config, mock).stream('g', prompt)
      const parts = await readAll(result.stream)
      expect(parts.at(-1)).toMatchObject({
        type: 'finish',
        providerMetadata: { llmpool: { instance: 'g.e1/mock:b', attempts: 2 } },
      })
    })

    test('also when the finish comes before any content (it was read ahead, before the routing was known)', async () => {
      const config = await setup({ groups: { g: group(['a']) } })
      const mock = mockProvider()
      mock.streamParts.a = () => [
        { type: 'stream-start', warnings: [] },
        { ...finish, providerMetadata: { mock: { id: 7 } } },
      ]
      const parts = await readAll((await routerFor(config, mock).stream('g', prompt)).stream)
      expect(types(parts)).toEqual(['stream-start', 'finish'])
      expect(parts.at(-1)).toMatchObject({
        providerMetadata: { mock: { id: 7 }, llmpool: { instance: 'g.e1/mock:a', attempts: 1 } },
      })
    })
  })

  describe("the instance's concurrency permit", () => {
    test('is held until the stream ends', async () => {
      const config = await setup({ groups: { g: group(['a'], 'concurrency_limit = 1') } })
      const clock = new FakeClock()
      const mock = mockProvider()
      mock.streamParts.a = () => textParts('a')
      const router = routerFor(config, mock, { clock })
      const result = await router.stream('g', prompt)
      const during = await instanceState(router, 'g.e1/mock:a')
      expect(during.inFlight).toBe(1)
      expect(during.limits).toMatchObject({ kind: 'concurrency', inFlight: 1, available: 0 })
      const blocked = rejection(router.generate('g', prompt, { timeoutMs: 100 }))
      await clock.advance(100)
      expect(RateLimitedError.isInstance(await blocked)).toBe(true)
      await readAll(result.stream)
      await clock.advance(0)
      const after = await instanceState(router, 'g.e1/mock:a')
      expect(after.inFlight).toBe(0)
      expect(after.limits).toMatchObject({ inFlight: 0, available: 1 })
      expect((await router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:a')
    })

    test('is released when the caller stops reading at the finish part, without cancelling', async () => {
      const config = await setup({ groups: { g: group(['a'], 'concurrency_limit = 1') } })
      const clock = new FakeClock()
      const mock = mockProvider()
      mock.streamParts.a = () => partsStream([...head, finish])
      const router = routerFor(config, mock, { clock })
      const events: RouterEvent[] = []
      router.on((event) => events.push(event))
      const reader = (await router.stream('g', prompt)).stream.getReader()
      for (let next = await reader.read(); !next.done && next.value.type !== 'finish'; next = await reader.read());
      await clock.advance(0)
      expect((await instanceState(router, 'g.e1/mock:a')).inFlight).toBe(0)
      expect(events.find((event) => event.type === 'stream_end')).toMatchObject({ ok: true, instance: 'g.e1/mock:a' })
      expect(await reader.read()).toEqual({ done: true, value: undefined })
    })

    test('is released when the caller cancels the stream', async () => {
      const config = await setup({ groups: { g: group(['a'], 'concurrency_limit = 1') } })
      const clock = new FakeClock()
      const mock = mockProvider()
      mock.streamParts.a = (call) => partsStream(head, { hang: true, signal: call.abortSignal })
      const router = routerFor(config, mock, { clock })
      const result = await router.stream('g', prompt)
      expect((await instanceState(router, 'g.e1/mock:a')).inFlight).toBe(1)
      await result.stream.cancel('not interested')
      await clock.advance(0)
      const after = await instanceState(router, 'g.e1/mock:a')
      expect(after.inFlight).toBe(0)
      expect(after.limits).toMatchObject({ inFlight: 0, available: 1 })
      // Cancelling is not the upstream's fault.
      expect(after.breaker.failures).toBe(0)
      expect(after.health.consecutiveFailures).toBe(0)
    })
  })
})
