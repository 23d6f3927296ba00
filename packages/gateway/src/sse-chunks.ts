import { APICallError } from '@ai-sdk/provider'
import { StreamInterruptedError } from '@llmpool/router'
import { ERROR_FIRST, hasContent, numberAfter, skipSpace, topLevelModel, valueOf } from './openai-text'

// Reading an OpenAI-compatible upstream's server-sent events (`data: {chat.completion.chunk}`, then `data: [DONE]`)
// on their way to the client, without parsing them: they run for every chunk of every streamed answer.
//
// The text is read as latin1 ("wire text": one character per byte of the upstream's UTF-8) and written back as
// latin1, so that the bytes go through as they came: no UTF-8 decoding of the body, no UTF-8 encoding on the way out
// (which measured the text once more and copied it), and no decoder state across reads (a byte is never split).
// JSON's structure is ASCII and UTF-8 never uses ASCII bytes inside a longer character, so the scanning is the same;
// text that comes from elsewhere (the client's model name, the routing field, an error event) is converted with
// `toWire`, and text read for a message (an error body) with `fromWire`.

/** `text` as wire text: its UTF-8 bytes, one character each. ASCII text is returned as it is. */
export function toWire(text: string): string {
  return ASCII.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1')
}

/** Wire text back as text. */
export function fromWire(wire: string): string {
  return ASCII.test(wire) ? wire : Buffer.from(wire, 'latin1').toString('utf8')
}

const ASCII = /^[\x00-\x7f]*$/

/** Where the events read go. */
export interface ChunkSink {
  /** Text to forward to the client, blank lines included. */
  text(text: string): void
  /** The event just forwarded is the first with content. */
  contentStarted(): void
}

/** What the reading needs to know about the client's request. */
export interface ChunkTarget {
  url: string
  requestBody: Record<string, unknown>
  /** The client's model name, as a JSON string in wire text (`toWire`): every chunk's `model` becomes it. */
  model: string
  /** The client asked for the usage chunk; otherwise it is dropped (the gateway asked for it, for the router). */
  includeUsage: boolean
}

/** The longest event kept: an upstream that sends more without a blank line fails. */
const MAX_EVENT_CHARS = 4 * 1024 * 1024
/** `,"usage":null}`: how every chunk ends once the usage chunk is asked for; removed when the gateway asked. */
const NULL_USAGE_END = ',"usage":null}'
const DATA = 'data: '
const SPACE = 32
const QUOTE = 34
const OPEN_BRACE = 123

/**
 * Reads the events of one stream as its body arrives. Each chunk's top-level `model` becomes the client's; the
 * upstream's `[DONE]` is kept back (`done`), so is an error event (`failure`), and so is the usage chunk when the
 * client did not ask for it. Every chunk of a stream starts the same way up to its model (`{"id":…,"created":…,
 * "model":"…"`): after the first, that start is compared, not scanned. The rest is looked at only while it matters:
 * content until it starts, the finish reason until it comes, the usage after it.
 */
export class ChunkScanner {
  contentStarted = false
  /** The upstream sent `[DONE]`. */
  done = false
  /** The upstream sent an error event, or the events could not be read: the stream failed. */
  failure: unknown
  finishReason: string | undefined
  inputTokens: number | undefined
  outputTokens: number | undefined

  /** The start of an event whose end has not arrived. */
  private carry = ''
  /** The start of the chunks up to the end of their model's value, as the upstream writes it; and as rewritten. */
  private modelPrefix: string | undefined
  private newPrefix = ''

  constructor(
    private readonly sink: ChunkSink,
    private readonly target: ChunkTarget,
  ) {}

  /** Reads more of the body; stops at `[DONE]` or a failure. What it forwards is wire text. */
  read(chunk: Buffer): void {
    this.scan(chunk.toString('latin1'))
  }

  /** The body ended: an event the upstream did not close with a blank line still counts. */
  end(): void {
    const rest = this.carry
    this.carry = ''
    if (rest.trim() !== '') this.scan(`${rest}\n\n`)
  }

  private scan(text: string): void {
    if (this.carry !== '') text = this.carry + text
    // Line ends may be \r\n or \r too. A \r that ends the text may be the first half of a \r\n: it waits.
    let held = ''
    if (text.indexOf('\r') >= 0) {
      if (text.charCodeAt(text.length - 1) === 13) {
        held = '\r'
        text = text.slice(0, -1)
      }
      text = text.replace(/\r\n?/g, '\n')
    }
    let from = 0
    let out = ''
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', from)) {
      const wasStarted = this.contentStarted
      out += this.event(text, from, end)
      from = end + 2
      if (this.failure !== undefined || this.done) break
      if (!wasStarted && this.contentStarted) {
        this.sink.text(out)
        out = ''
        this.sink.contentStarted()
      }
    }
    if (out !== '') this.sink.text(out)
    this.carry = (from === 0 ? text : text.slice(from)) + held
    if (this.carry.length > MAX_EVENT_CHARS)
      this.failure ??= new StreamInterruptedError(
        `the upstream sent an event longer than ${MAX_EVENT_CHARS} characters`,
      )
  }

  /** The event `text[start, end)` (a blank line follows it): what to forward, blank line included, or '' to drop it. */
  private event(text: string, start: number, end: number): string {
    if (text.startsWith(DATA, start)) return this.data(text, start, end)
    // A comment (`: keep-alive`) or other fields pass as they are; a data line after them is read as usual.
    const data = text.indexOf('\ndata:', start)
    if (data >= 0 && data < end)
      return (
        text.slice(start, data + 1) +
        this.data(`${DATA}${text.slice(data + (text.charCodeAt(data + 6) === SPACE ? 7 : 6), end)}\n\n`, 0, -1)
      )
    if (text.startsWith('data:', start)) return this.data(`${DATA}${text.slice(start + 5, end)}\n\n`, 0, -1)
    return text.slice(start, end + 2)
  }

  /** A `data: ` line (one per event, as OpenAI sends them) at `text[start, end)` (`end` -1: to the blank line ending `text`). */
  private data(text: string, start: number, end: number): string {
    if (end < 0) end = text.length - 2
    const chunk = text.slice(start + DATA.length, end)
    if (chunk.length === 6 && chunk === '[DONE]') {
      this.done = true
      return ''
    }
    if (chunk.startsWith('{"error"') || (chunk.charCodeAt(1) !== QUOTE && ERROR_FIRST.test(chunk))) {
      this.failure = new APICallError({
        message: 'upstream sent an error in the stream',
        url: this.target.url,
        requestBodyValues: this.target.requestBody,
        statusCode: 502,
        responseBody: fromWire(chunk.slice(0, 2000)),
        isRetryable: true,
      })
      return ''
    }
    if (!this.contentStarted && hasContent(chunk)) this.contentStarted = true
    if (this.finishReason === undefined) {
      const at = chunk.lastIndexOf('"finish_reason":')
      const value = at < 0 ? -1 : skipSpace(chunk, at + '"finish_reason":'.length)
      if (value >= 0 && chunk.charCodeAt(value) === QUOTE)
        this.finishReason = fromWire(chunk.slice(value + 1, chunk.indexOf('"', value + 1)))
    }
    if (this.finishReason !== undefined) {
      // The usage comes with the last chunks (one of its own, or the finish reason's).
      const at = chunk.lastIndexOf('"usage"')
      const found = at < 0 ? -1 : valueOf(chunk, '"usage"', at)
      if (found !== -1 && chunk.charCodeAt(found.value) === OPEN_BRACE) {
        this.inputTokens = numberAfter(chunk, '"prompt_tokens"', found.value)
        this.outputTokens = numberAfter(chunk, '"completion_tokens"', found.value)
        // The usage chunk the gateway asked for on the router's behalf.
        if (!this.target.includeUsage && chunk.includes('"choices":[]')) return ''
      }
    }
    // Once the gateway asked for usage, every chunk says `"usage":null`: not to a client that did not ask.
    return this.withModel(text, start, end, !this.target.includeUsage && chunk.endsWith(NULL_USAGE_END))
  }

  /**
   * The chunk `text[start, end)` with its top-level `model` replaced by the client's, and its blank line; with
   * `dropNullUsage`, without the `,"usage":null` it ends with. Written as slices of the text read (copying each
   * chunk first cost a tenth of a streamed request's time).
   */
  private withModel(text: string, start: number, end: number, dropNullUsage: boolean): string {
    // Where the chunk's text stops, and what follows it: its closing brace too when `,"usage":null}` is cut.
    const stop = dropNullUsage ? end - NULL_USAGE_END.length : end
    const close = dropNullUsage ? '}\n\n' : '\n\n'
    const prefix = this.modelPrefix
    // (A slice compared, not `startsWith(prefix, start)`: in Node 20 that is five times slower on a 100-character prefix.)
    if (prefix !== undefined && text.slice(start, start + prefix.length) === prefix)
      return this.newPrefix + text.slice(start + prefix.length, stop) + close
    const chunk = dropNullUsage ? `${text.slice(start, stop)}}` : text.slice(start, stop)
    const span = topLevelModel(chunk)
    if (span) {
      this.modelPrefix = chunk.slice(0, span[1])
      this.newPrefix = chunk.slice(0, span[0]) + this.target.model
      return `${this.newPrefix}${chunk.slice(span[1])}\n\n`
    }
    if (!chunk.includes('"model"')) return `${chunk}\n\n`
    // Unusual text (an escaped key or value): parsed and written again.
    try {
      const parsed = JSON.parse(fromWire(chunk.slice(DATA.length))) as Record<string, unknown>
      if (typeof parsed !== 'object' || parsed === null || !('model' in parsed)) return `${chunk}\n\n`
      parsed.model = JSON.parse(fromWire(this.target.model))
      return `${DATA}${toWire(JSON.stringify(parsed))}\n\n`
    } catch {
      return `${chunk}\n\n`
    }
  }
}
