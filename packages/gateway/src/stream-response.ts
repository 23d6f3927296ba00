import type { ServerResponse } from 'node:http'
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import { ChunkWriter, completionId } from './convert-response'
import { streamErrorBody } from './http-error'
import { toWire } from './sse-chunks'
import { CONTENT_STARTED, withRouting } from './stream-pass-through'

/** What a routed stream is written with. */
export interface StreamResponseOptions {
  /** The model name the client asked for (every chunk's `model`). */
  model: string
  /** The client asked for the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean
  /** Who answered: goes into the first chunk as the extension field `llmpool`. */
  routing: { instance: string; attempts: number }
  /** Gets the token counts of a stream that finished cleanly (the access log's record). */
  tokens?: { inputTokens?: number | undefined; outputTokens?: number | undefined }
}

const DONE = 'data: [DONE]\n\n'
/** Pending text written at once rather than at the end of the tick. */
const FLUSH_CHARS = 64 * 1024
const noop = () => undefined

/**
 * Writes a routed stream as `chat.completion.chunk` server-sent events, after the headers. A pass-through stream's
 * `raw` parts are SSE text already and are written as they are (the first chunk gets the routing field); the parts
 * of an AI SDK model (an Anthropic instance, `--no-pass-through`, a replay from the cache) are converted by
 * ChunkWriter. A clean `finish` ends with `[DONE]`; a failure after the first byte with an error event instead
 * (the router never finishes a failed stream cleanly), so a cut answer never looks complete.
 *
 * Resolves when the response is ended, or the client went away (the stream is cancelled then: the upstream request
 * ends with it).
 */
export async function writeStream(
  response: ServerResponse,
  stream: ReadableStream<LanguageModelV3StreamPart>,
  options: StreamResponseOptions,
): Promise<void> {
  const reader = stream.getReader()
  const writer = new SseWriter(response, options)
  let complete = false
  try {
    for (;;) {
      const next = await reader.read()
      complete = next.done ? writer.fail(new Error('the stream ended without finishing')) : writer.part(next.value)
      if (complete) return
      if (writer.pending.length >= FLUSH_CHARS && !writer.blocked) writer.flush()
      else if (writer.pending !== '') writer.flushLater()
      while (writer.blocked) {
        await drained(response, writer)
        if (writer.pending !== '' && !response.destroyed) writer.flush()
      }
      if (response.destroyed) {
        void reader.cancel(new Error('the client went away')).catch(noop)
        return
      }
    }
  } finally {
    if (complete) void readToEnd(reader)
    else reader.releaseLock()
  }
}

/**
 * The text of one response: parts in, SSE events out (a class: closures made per request cost more). It writes wire
 * text (sse-chunks.ts: one character per byte, written as latin1): a pass-through stream's `raw` parts are wire text
 * already, and what the writer makes itself is converted.
 */
class SseWriter {
  /** Wire text to write. */
  pending = ''
  private converter: ChunkWriter | undefined
  /** The routing field is still to be added (to the first pass-through chunk). */
  private routingDue = true

  constructor(
    private readonly response: ServerResponse,
    private readonly options: StreamResponseOptions,
  ) {}

  /** Takes one part; true when the response is complete (ended). */
  part(part: LanguageModelV3StreamPart): boolean {
    switch (part.type) {
      case 'raw':
        if (typeof part.rawValue !== 'string') return false
        if (this.routingDue) {
          const routed = withRouting(part.rawValue, this.options.routing)
          if (routed !== undefined) this.routingDue = false
          this.pending += routed ?? part.rawValue
        } else this.pending += part.rawValue
        return false
      case 'error':
        return this.fail(part.error)
      case 'finish': {
        // A pass-through stream's chunks said everything already; an AI SDK stream's finish is still to be written.
        if (this.converter || this.routingDue) this.convert().part(part)
        const tokens = this.options.tokens
        if (tokens) {
          tokens.inputTokens = part.usage.inputTokens.total
          tokens.outputTokens = part.usage.outputTokens.total
        }
        if (!this.response.destroyed) this.response.end(this.pending + DONE, 'latin1')
        this.pending = ''
        return true
      }
      default:
        if (part !== CONTENT_STARTED) this.convert().part(part)
        return false
    }
  }

  /** Ends the response with an error event; true. */
  fail(error: unknown): boolean {
    if (!this.response.destroyed)
      this.response.end(`${this.pending}data: ${toWire(streamErrorBody(error))}\n\n`, 'latin1')
    this.pending = ''
    return true
  }

  /** The response wants a pause: a write said so, and no 'drain' came since. */
  blocked = false
  private flushDue = false
  private readonly flushNow = () => {
    this.flushDue = false
    // A response that wants a pause gets the text once it drains (writeStream).
    if (this.pending !== '' && !this.blocked && !this.response.writableEnded && !this.response.destroyed) this.flush()
  }

  /** Writes what is pending; a response that wants a pause is `blocked` until it drains. */
  flush(): void {
    const ok = this.response.write(this.pending, 'latin1')
    this.pending = ''
    if (!ok && !this.response.destroyed) this.blocked = true
  }

  /**
   * Writes what is pending at the end of this tick, after every part already at hand was read (a stream's parts
   * come through promises, so those read in one tick resolve before it ends): they go out as one HTTP chunk, and
   * the whole of a short answer that came in one piece as one chunk with its end. Nothing waits longer than the tick
   * that read it.
   */
  flushLater(): void {
    if (this.flushDue) return
    this.flushDue = true
    process.nextTick(this.flushNow)
  }

  private convert(): ChunkWriter {
    if (this.converter) return this.converter
    const converter = new ChunkWriter(
      (event) => void (this.pending += toWire(event)),
      this.options.model,
      this.options.includeUsage,
      completionId(),
    )
    this.converter = converter
    converter.start(this.options.routing)
    this.routingDue = false
    return converter
  }
}

/** Resolves when `response` can take more (it may have drained already: a write at the end of a tick), or closed. */
function drained(response: ServerResponse, writer: SseWriter): Promise<void> {
  if (!response.writableNeedDrain || response.destroyed) {
    writer.blocked = false
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done).off('close', done)
      writer.blocked = false
      resolve()
    }
    response.on('drain', done).on('close', done)
  })
}

/**
 * Reads a stream whose answer is written to its end. The router closes a stream after its `finish` or `error` part
 * once the upstream has closed (bounded by its idle timeout), and only then reports how it ended (`stream_end`, with
 * the tokens) and settles the instance's breaker and lease: cancelling it instead would cut that short.
 */
async function readToEnd(reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>): Promise<void> {
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read());
  } catch {
    // The stream failed after the answer was written: the router has reported it.
  } finally {
    reader.releaseLock()
  }
}
