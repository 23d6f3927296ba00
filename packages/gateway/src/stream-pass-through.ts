import type {
  ReadableStreamDefaultReader,
  ReadableStreamReadResult,
  ReadableWritablePair,
  StreamPipeOptions,
} from 'node:stream/web'
import type {
  LanguageModelV3CallOptions,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider'
import { onAbort, StreamInterruptedError } from '@llmpool/router'
import { FINISH_REASONS } from './openai-text'
import type { PassThroughRequest } from './pass-through'
import { ChunkScanner, type ChunkSink, type ChunkTarget, toWire } from './sse-chunks'
import type { ExchangeHandler } from './http1'
import { connectionError, headerRecord, statusError, type Upstreams } from './upstream'

// A streamed pass-through call. The upstream's server-sent events go to the client as text, with only the top-level
// `model` of each chunk rewritten; the router still has to see what it routes by, so the model's stream carries:
//
// - `raw` parts whose `rawValue` is SSE text for the client, ready to write (the gateway writes it as it is, as
//   latin1: it is "wire text", one character per byte; read and rewritten by ChunkScanner, sse-chunks.ts);
// - CONTENT_STARTED, an empty text delta, after the text of the first chunk with content: the router commits a
//   stream to its instance at its first content part, so failures before it still fall over to another instance
//   (and the text before it, held in the router's head, never reaches the client);
// - `finish` with the usage read from the upstream's usage chunk (tokens for metrics, limits, the access log), or an
//   `error` part: an error status or a connection error before the headers rejects `doStream` instead, as the AI
//   SDK's models do.
//
// The upstream's `[DONE]` is not forwarded: the gateway writes its own after `finish`, and an error event instead
// when the stream fails, so a cut stream never looks complete.

/** The part that says "the upstream's content started" (see above); the gateway writes nothing for it. */
export const CONTENT_STARTED: LanguageModelV3StreamPart = { type: 'text-delta', id: 'llmpool-pass-through', delta: '' }

/** Text queued for a reader that is not reading (a slow client) past which the upstream socket is paused. */
const HIGH_WATER_CHARS = 64 * 1024
/** The most of an error answer's body kept. */
const MAX_ERROR_BYTES = 64 * 1024

/** Streams `body` from `url` (see above); resolves with the stream once the upstream's headers say 2xx. */
export function streamThrough(
  upstreams: Upstreams,
  url: URL,
  headers: Record<string, string>,
  body: string,
  request: PassThroughRequest,
  call: LanguageModelV3CallOptions,
): Promise<LanguageModelV3StreamResult> {
  const options = request.body.stream_options as { include_usage?: unknown } | undefined
  const target: ChunkTarget = {
    url: url.href,
    requestBody: request.body,
    model: toWire(JSON.stringify(request.body.model)),
    includeUsage: options?.include_usage === true,
  }
  const exchange = new StreamExchange(target)
  exchange.stopListening = onAbort(call, exchange.abortWith.bind(exchange))
  upstreams.dispatch(url, headers, body, exchange)
  return exchange.headers
}

/**
 * One streamed request: the upstream client's handler that reads the upstream's events, and the reader of the model's stream.
 * One object per request. Text that arrives while the router is not reading is joined into one `raw` part, so a busy
 * gateway writes fewer, larger pieces; past HIGH_WATER_CHARS unread, the upstream socket waits.
 */
class StreamExchange implements ExchangeHandler, ChunkSink {
  stopListening: () => void = noop
  private abortRequest: ((reason: Error) => void) | undefined
  private abortedWith: unknown
  private resumeSocket: (() => void) | undefined
  private paused = false
  private status = 0
  private completed = false
  /** An error status: the headers and the body, collected for the error. */
  private errorHeaders: string[] | undefined
  private errorChunks: Buffer[] | undefined
  private errorSize = 0

  /** Parts the reader has not asked for yet; the last may be a `raw` part that more text joins. */
  private readonly queue: LanguageModelV3StreamPart[] = []
  private queuedChars = 0
  /** The read that waits (the queue is empty then): the next part goes to it at once. */
  private reading: ((result: ReadableStreamReadResult<LanguageModelV3StreamPart>) => void) | undefined
  /** The stream is over (finished, failed or cancelled): nothing more is read or sent. */
  private over = false

  private readonly chunks: ChunkScanner

  /** Settles with the model's result once the headers say 2xx, or with the error. */
  readonly headers: Promise<LanguageModelV3StreamResult>
  private resolve!: (result: LanguageModelV3StreamResult) => void
  private reject!: (error: unknown) => void

  constructor(private readonly target: ChunkTarget) {
    this.chunks = new ChunkScanner(this, target)
    this.headers = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  abortWith(reason: unknown): void {
    this.abortedWith = reason ?? new Error('aborted')
    if (!this.completed) this.abortRequest?.(this.abortedWith as Error)
  }

  // The upstream side.

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort
    if (this.abortedWith !== undefined) abort(this.abortedWith as Error)
  }

  onHeaders(statusCode: number, headers: string[], resume: () => void): boolean {
    if (statusCode < 200) return true // 1xx: the answer is still to come
    this.status = statusCode
    this.resumeSocket = resume
    if (statusCode >= 400) {
      this.errorHeaders = headers
      this.errorChunks = []
      return true
    }
    this.resolve({ stream: new PartStream(this) as unknown as ReadableStream<LanguageModelV3StreamPart> })
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.errorChunks) {
      if (this.errorSize < MAX_ERROR_BYTES) this.errorChunks.push(Buffer.from(chunk)) // lent (http1.ts): copied
      this.errorSize += chunk.length
      return true
    }
    if (this.over) return true
    this.chunks.read(chunk)
    this.settle()
    if (this.queuedChars > HIGH_WATER_CHARS && !this.over) {
      this.paused = true
      return false
    }
    return true
  }

  onComplete(): void {
    this.completed = true
    this.stopListening()
    if (this.errorChunks) {
      const text = Buffer.concat(this.errorChunks).toString('utf8')
      this.reject(
        statusError(this.target.url, this.target.requestBody, this.status, headerRecord(this.errorHeaders!), text),
      )
      return
    }
    if (this.over) return
    this.chunks.end()
    this.settle()
    this.end()
  }

  onError(error: Error): void {
    this.completed = true
    this.stopListening()
    const reason = this.abortedWith ?? error
    if (this.status === 0 || this.errorChunks)
      this.reject(connectionError(this.target.url, this.target.requestBody, reason))
    else
      this.fail(
        this.abortedWith ??
          new StreamInterruptedError(`the upstream stream broke off: ${error.message}`, { cause: error }),
      )
  }

  /** Ends the stream when the events say so: `[DONE]`, or a failure. */
  private settle(): void {
    if (this.chunks.failure !== undefined) this.fail(this.chunks.failure)
    else if (this.chunks.done) this.end()
  }

  // ChunkSink: what the scanner forwards.

  text(text: string): void {
    if (this.reading) return this.push({ type: 'raw', rawValue: text })
    this.queuedChars += text.length
    const last = this.queue[this.queue.length - 1]
    if (last?.type === 'raw') last.rawValue = (last.rawValue as string) + text
    else this.queue.push({ type: 'raw', rawValue: text })
  }

  contentStarted(): void {
    this.push(CONTENT_STARTED)
  }

  // The stream side: a reader of the parts (see PartStream).

  read(): Promise<ReadableStreamReadResult<LanguageModelV3StreamPart>> {
    const part = this.queue.shift()
    if (part !== undefined) {
      if (part.type === 'raw') this.queuedChars -= (part.rawValue as string).length
      return Promise.resolve({ done: false, value: part })
    }
    if (this.over) return Promise.resolve(READ_DONE)
    if (this.paused) {
      this.paused = false
      this.resumeSocket?.()
    }
    return new Promise((resolve) => {
      this.reading = resolve
    })
  }

  cancel(reason?: unknown): Promise<void> {
    this.over = true
    this.queue.length = 0
    this.abortWith(reason ?? new Error('the stream was cancelled'))
    this.deliver(READ_DONE)
    return Promise.resolve()
  }

  releaseLock(): void {}

  /** Hands a result to the read that waits, if one does. */
  private deliver(result: ReadableStreamReadResult<LanguageModelV3StreamPart>): boolean {
    const reading = this.reading
    if (reading === undefined) return false
    this.reading = undefined
    reading(result)
    return true
  }

  private push(part: LanguageModelV3StreamPart): void {
    if (!this.deliver({ done: false, value: part })) this.queue.push(part)
  }

  /** No part follows what is queued. */
  private close(): void {
    this.over = true
    if (this.queue.length === 0) this.deliver(READ_DONE)
  }

  private fail(error: unknown): void {
    if (this.over) return
    this.push({ type: 'error', error })
    this.close()
  }

  /** The upstream said it is done (`[DONE]`, or the end of a stream that had a finish reason). */
  private end(): void {
    if (this.over) return
    const { chunks } = this
    if (!chunks.done && chunks.finishReason === undefined)
      return this.fail(new StreamInterruptedError('the upstream stream ended without finishing'))
    const raw = chunks.finishReason
    const unified = raw === undefined && !chunks.contentStarted ? 'other' : (FINISH_REASONS[raw ?? 'stop'] ?? 'other')
    this.push({
      type: 'finish',
      finishReason: { unified, raw },
      usage: {
        inputTokens: { total: chunks.inputTokens, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: chunks.outputTokens, text: undefined, reasoning: undefined },
      },
    })
    this.close()
  }
}

const noop = () => undefined
const READ_DONE: ReadableStreamReadResult<LanguageModelV3StreamPart> = { done: true, value: undefined }
const CHUNK_START = 'data: {'

/**
 * The `stream` of a pass-through call. The router reads it through `getReader()` only, and Node 20 makes every
 * ReadableStream transferable as it is constructed (about 10 µs, half as much as reading all the events of a
 * 20-chunk answer): so the exchange is the reader, and a real ReadableStream (reading from it) is made only if
 * something else is asked of the stream. A class, so that a request makes one object rather than a closure per method.
 */
class PartStream {
  locked = false
  private real: ReadableStream<LanguageModelV3StreamPart> | undefined

  constructor(private readonly exchange: StreamExchange) {}

  getReader(): ReadableStreamDefaultReader<LanguageModelV3StreamPart> {
    if (this.real) return this.real.getReader()
    this.locked = true
    return this.exchange as unknown as ReadableStreamDefaultReader<LanguageModelV3StreamPart>
  }

  cancel(reason?: unknown): Promise<void> {
    return this.real ? this.real.cancel(reason) : this.exchange.cancel(reason)
  }

  pipeThrough<T>(
    transform: ReadableWritablePair<T, LanguageModelV3StreamPart>,
    options?: StreamPipeOptions,
  ): ReadableStream<T> {
    return this.stream().pipeThrough(transform, options)
  }

  pipeTo(destination: WritableStream<LanguageModelV3StreamPart>, options?: StreamPipeOptions): Promise<void> {
    return this.stream().pipeTo(destination, options)
  }

  tee(): [ReadableStream<LanguageModelV3StreamPart>, ReadableStream<LanguageModelV3StreamPart>] {
    return this.stream().tee()
  }

  [Symbol.asyncIterator](): AsyncIterator<LanguageModelV3StreamPart> {
    return this.stream()[Symbol.asyncIterator]()
  }

  private stream(): ReadableStream<LanguageModelV3StreamPart> {
    const exchange = this.exchange
    this.real ??= new ReadableStream<LanguageModelV3StreamPart>(
      {
        async pull(controller) {
          const next = await exchange.read()
          if (next.done) controller.close()
          else controller.enqueue(next.value)
        },
        cancel: (reason) => exchange.cancel(reason),
      },
      { highWaterMark: 0 },
    )
    return this.real
  }
}

/**
 * `text` (the start of a pass-through stream, wire text) with `"llmpool":{"instance":...,"attempts":N}` added to its
 * first chunk, as the gateway's own chunks carry it (OpenAI clients ignore unknown fields). Undefined when `text`
 * holds no chunk yet (only comments): the next text gets it.
 */
export function withRouting(text: string, routing: { instance: string; attempts: number }): string | undefined {
  const data = text.startsWith(CHUNK_START) ? 0 : text.indexOf(`\n${CHUNK_START}`) + 1
  if (data === 0 && !text.startsWith(CHUNK_START)) return undefined
  const open = data + CHUNK_START.length
  const field = toWire(`"llmpool":{"instance":${JSON.stringify(routing.instance)},"attempts":${routing.attempts}}`)
  return `${text.slice(0, open)}${field}${text.charCodeAt(open) === 125 ? '' : ','}${text.slice(open)}`
}
