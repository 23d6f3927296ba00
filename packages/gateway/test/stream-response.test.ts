/**
 * How a routed stream is written: what is at hand in one tick goes out as one write (one HTTP chunk), nothing waits
 * past the tick that read it, a response that wants a pause stops the reading until it drains, and a client that
 * went away cancels the stream.
 */
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import { describe, expect, test } from 'vitest'
import { writeStream } from '../src/stream-response'
import { CONTENT_STARTED } from '../src/stream-pass-through'

/** The part of a ServerResponse writeStream uses, recording its writes. */
class FakeResponse extends EventEmitter {
  writes: string[] = []
  ended: string | undefined
  destroyed = false
  writableEnded = false
  /** What `write` answers: false asks for a pause, until `drain`. */
  accepts = true
  writableNeedDrain = false

  write(text: string, encoding: string): boolean {
    expect(encoding).toBe('latin1')
    this.writes.push(text)
    if (!this.accepts) this.writableNeedDrain = true
    return this.accepts
  }

  drain(): void {
    this.accepts = true
    this.writableNeedDrain = false
    this.emit('drain')
  }

  end(text: string, encoding: string): void {
    expect(encoding).toBe('latin1')
    this.ended = text
    this.writableEnded = true
  }
}

const raw = (text: string): LanguageModelV3StreamPart => ({ type: 'raw', rawValue: text })
const finish: LanguageModelV3StreamPart = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: {
    inputTokens: { total: 3, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 2, text: undefined, reasoning: undefined },
  },
}
const event = (n: number) => `data: {"n":${n}}\n\n`

/**
 * A stream whose parts come in batches: the parts of one batch are handed out at once (resolved reads, as a
 * pass-through stream's queued parts are), each batch after the previous one's `gate`. Counts the reads and cancels.
 */
function batchedStream(batches: LanguageModelV3StreamPart[][]) {
  const queue: LanguageModelV3StreamPart[] = []
  let waiting: ((part: LanguageModelV3StreamPart | undefined) => void) | undefined
  const state = { reads: 0, cancelled: undefined as unknown }
  const push = (parts: LanguageModelV3StreamPart[]) => {
    for (const part of parts) {
      if (waiting) {
        const resolve = waiting
        waiting = undefined
        resolve(part)
      } else queue.push(part)
    }
  }
  const reader = {
    read: async () => {
      state.reads++
      const part = queue.shift() ?? (await new Promise<LanguageModelV3StreamPart | undefined>((r) => (waiting = r)))
      return part === undefined ? { done: true as const, value: undefined } : { done: false as const, value: part }
    },
    cancel: async (reason: unknown) => {
      state.cancelled = reason
      waiting?.(undefined)
    },
    releaseLock: () => undefined,
  }
  const stream = { getReader: () => reader } as unknown as ReadableStream<LanguageModelV3StreamPart>
  return { stream, push, state, first: () => push(batches[0]!), batches }
}

const options = { model: 'my_pool', includeUsage: false, routing: { instance: 'g.main/openai:a', attempts: 1 } }
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('writes', () => {
  test('an answer whose parts are at hand together is one write: the end, with [DONE]', async () => {
    const response = new FakeResponse()
    const source = batchedStream([])
    source.push([raw(event(1)), CONTENT_STARTED, raw(event(2) + event(3)), finish])
    await writeStream(response as unknown as ServerResponse, source.stream, options)
    expect(response.writes).toEqual([])
    expect(response.ended).toBe(
      `data: {"llmpool":{"instance":"g.main/openai:a","attempts":1},"n":1}\n\n${event(2)}${event(3)}data: [DONE]\n\n`,
    )
  })

  test('parts that come later are not held: each tick writes what it read, as one write', async () => {
    const response = new FakeResponse()
    const source = batchedStream([])
    source.push([raw(event(1)), CONTENT_STARTED, raw(event(2))])
    const done = writeStream(response as unknown as ServerResponse, source.stream, options)
    await tick()
    // The first batch is out before the rest exists.
    expect(response.writes).toEqual([
      `data: {"llmpool":{"instance":"g.main/openai:a","attempts":1},"n":1}\n\n${event(2)}`,
    ])
    source.push([raw(event(3))])
    source.push([raw(event(4))])
    await tick()
    expect(response.writes.slice(1)).toEqual([event(3) + event(4)])
    source.push([finish])
    await done
    expect(response.writes).toHaveLength(2)
    expect(response.ended).toBe('data: [DONE]\n\n')
  })

  test('a response that wants a pause stops the reading until it drains', async () => {
    const response = new FakeResponse()
    response.accepts = false
    const source = batchedStream([])
    source.push([raw(event(1)), CONTENT_STARTED])
    const done = writeStream(response as unknown as ServerResponse, source.stream, options)
    await tick()
    expect(response.writes).toHaveLength(1)
    const readsWhenPaused = source.state.reads
    source.push([raw(event(2)), raw(event(3))])
    await tick()
    await tick()
    // At most the part that was read when the write said "pause" is taken; nothing more until 'drain'.
    expect(source.state.reads - readsWhenPaused).toBeLessThanOrEqual(1)
    expect(response.writes).toHaveLength(1)
    response.drain()
    // What was held is written once it drains, before the stream ends.
    await tick()
    expect(response.writes.slice(1).join('')).toBe(event(2) + event(3))
    source.push([finish])
    await done
    expect(response.ended).toBe('data: [DONE]\n\n')
  })

  test('a response that drained before the writer looked does not stop it', async () => {
    const response = new FakeResponse()
    response.accepts = false
    const source = batchedStream([])
    source.push([raw(event(1)), CONTENT_STARTED])
    const done = writeStream(response as unknown as ServerResponse, source.stream, options)
    await tick()
    // The write at the end of the tick asked for a pause; the drain comes while the writer waits for a part.
    response.drain()
    source.push([raw(event(2)), finish])
    await done
    expect(response.writes.slice(1).join('') + response.ended).toBe(`${event(2)}data: [DONE]\n\n`)
  })

  test('a client that went away cancels the stream, and nothing more is written', async () => {
    const response = new FakeResponse()
    const source = batchedStream([])
    source.push([raw(event(1)), CONTENT_STARTED])
    const done = writeStream(response as unknown as ServerResponse, source.stream, options)
    await tick()
    response.destroyed = true
    source.push([raw(event(2))])
    await done
    expect(source.state.cancelled).toBeInstanceOf(Error)
    expect(response.writes).toHaveLength(1)
    expect(response.ended).toBeUndefined()
  })

  test('large pending text is written at once rather than at the end of the tick', async () => {
    const response = new FakeResponse()
    const source = batchedStream([])
    const big = `data: ${'x'.repeat(70 * 1024)}\n\n`
    source.push([raw(event(1)), CONTENT_STARTED, raw(big), raw(event(2)), finish])
    await writeStream(response as unknown as ServerResponse, source.stream, options)
    // The routed first event and the big one went out as soon as they passed the mark; the rest with the end.
    expect(response.writes).toHaveLength(1)
    expect(response.writes[0]!.endsWith(big)).toBe(true)
    expect(response.ended).toBe(`${event(2)}data: [DONE]\n\n`)
  })
})
