import {
  APICallError,
  type LanguageModelV3FinishReason,
  type LanguageModelV3GenerateResult,
  type LanguageModelV3StreamPart,
  type LanguageModelV3StreamResult,
  type LanguageModelV3Usage,
} from '@ai-sdk/provider'
import { type Clock, systemClock } from '@llmpool/schema'

/** A tool call in a mock result. */
export interface MockResultToolCall {
  /** The tool's name. */
  toolName: string
  /** Its input: an object (sent as JSON) or a JSON string. Default `{}`. */
  input?: unknown
  /** Default `call-<n>`. */
  toolCallId?: string
}

/** What a mock generate or stream result contains. */
export interface MockResultOptions {
  /** The text. Default ''. */
  text?: string
  /** Tool calls after the text; the finish reason becomes `tool-calls`. */
  toolCalls?: readonly MockResultToolCall[]
  /** Default `stop` (or `tool-calls` when there are tool calls). */
  finishReason?: LanguageModelV3FinishReason['unified']
  /** Token counts. Default: 10 in, 20 out. */
  usage?: { inputTokens?: number; outputTokens?: number }
}

/** Options of `mockStreamResult()`. */
export interface MockStreamOptions extends Omit<MockResultOptions, 'text'> {
  /** The text deltas. */
  chunks?: readonly string[]
  /** Delay before the first part. Default 0. */
  initialDelayMs?: number
  /** Delay between parts. Default 0. */
  chunkDelayMs?: number
  /** Clock for the delays (a `FakeClock` in unit tests). Default: the system clock. */
  clock?: Clock
  /** Fails the stream with this error. */
  error?: unknown
  /** How many text deltas come before `error`. Default: all of them. */
  errorAfterChunks?: number
  /**
   * `'error-part'` (default): an `{ type: 'error' }` part, then `finish` with reason `error`, as a provider reports an
   * error it read from the stream. `'stream-error'`: the stream itself errors, as when the connection is cut.
   */
  failAs?: 'error-part' | 'stream-error'
}

/** A `LanguageModelV3Usage` with the given totals. */
export function mockUsage(inputTokens = 10, outputTokens = 20): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
  }
}

function finishReasonOf(options: MockResultOptions): LanguageModelV3FinishReason {
  const unified = options.finishReason ?? (options.toolCalls?.length ? 'tool-calls' : 'stop')
  const raw = {
    stop: 'stop',
    length: 'length',
    'content-filter': 'content_filter',
    'tool-calls': 'tool_calls',
    error: 'error',
    other: 'other',
  }[unified]
  return { unified, raw }
}

function toolCallParts(options: MockResultOptions) {
  return (options.toolCalls ?? []).map((call, index) => ({
    type: 'tool-call' as const,
    toolCallId: call.toolCallId ?? `call-${index}`,
    toolName: call.toolName,
    input: typeof call.input === 'string' ? call.input : JSON.stringify(call.input ?? {}),
  }))
}

/** A `doGenerate` result: `mockGenerateResult('hello')` or with tool calls, finish reason and usage. */
export function mockGenerateResult(options: string | MockResultOptions): LanguageModelV3GenerateResult {
  const spec = typeof options === 'string' ? { text: options } : options
  const content: LanguageModelV3GenerateResult['content'] = []
  if (spec.text) content.push({ type: 'text', text: spec.text })
  content.push(...toolCallParts(spec))
  return {
    content,
    finishReason: finishReasonOf(spec),
    usage: mockUsage(spec.usage?.inputTokens, spec.usage?.outputTokens),
    warnings: [],
  }
}

/** A `doStream` result that streams `chunks` as text deltas: `mockStreamResult(['Hel', 'lo'])`. */
export function mockStreamResult(options: readonly string[] | MockStreamOptions): LanguageModelV3StreamResult {
  const spec: MockStreamOptions = isStringArray(options) ? { chunks: options } : options
  const chunks = spec.chunks ?? []
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }]
  const failAt = spec.error === undefined ? undefined : Math.min(spec.errorAfterChunks ?? chunks.length, chunks.length)
  const kept = failAt === undefined ? chunks : chunks.slice(0, failAt)
  const textBlock = kept.length > 0 || (failAt === undefined && !spec.toolCalls?.length)
  if (textBlock) {
    parts.push({ type: 'text-start', id: '0' })
    for (const delta of kept) parts.push({ type: 'text-delta', id: '0', delta })
  }
  const usage = mockUsage(spec.usage?.inputTokens, spec.usage?.outputTokens)
  let streamError: { error: unknown } | undefined
  if (failAt !== undefined && spec.failAs === 'stream-error') {
    streamError = { error: spec.error }
  } else if (failAt !== undefined) {
    parts.push({ type: 'error', error: spec.error })
    if (textBlock) parts.push({ type: 'text-end', id: '0' })
    parts.push({ type: 'finish', usage, finishReason: { unified: 'error', raw: 'error' } })
  } else {
    if (textBlock) parts.push({ type: 'text-end', id: '0' })
    for (const call of toolCallParts(spec)) {
      parts.push({ type: 'tool-input-start', id: call.toolCallId, toolName: call.toolName })
      parts.push({ type: 'tool-input-delta', id: call.toolCallId, delta: call.input })
      parts.push({ type: 'tool-input-end', id: call.toolCallId })
      parts.push(call)
    }
    parts.push({ type: 'finish', usage, finishReason: finishReasonOf(spec) })
  }
  const stream = simulateStream({
    chunks: parts,
    initialDelayMs: spec.initialDelayMs,
    chunkDelayMs: spec.chunkDelayMs,
    clock: spec.clock,
    error: streamError,
  })
  return { stream }
}

/** Options of `simulateStream()`. */
export interface SimulateStreamOptions<T> {
  /** What the stream yields, in order. */
  chunks: readonly T[]
  /** Delay before the first chunk. Default 0. */
  initialDelayMs?: number
  /** Delay between chunks. Default 0. */
  chunkDelayMs?: number
  /** Clock for the delays. Default: the system clock. */
  clock?: Clock
  /** Errors the stream with `error.error` after the last chunk. */
  error?: { error: unknown }
}

/** A `ReadableStream` yielding `chunks`, with optional delays on an injectable clock. */
export function simulateStream<T>(options: SimulateStreamOptions<T>): ReadableStream<T> {
  const { chunks, initialDelayMs = 0, chunkDelayMs = 0, clock = systemClock } = options
  let index = 0
  let timer: unknown
  const delay = (ms: number) =>
    ms <= 0
      ? undefined
      : new Promise<void>((resolve) => {
          timer = clock.setTimeout(resolve, ms)
        })
  return new ReadableStream<T>({
    async pull(controller) {
      if (index < chunks.length) {
        await delay(index === 0 ? initialDelayMs : chunkDelayMs)
        controller.enqueue(chunks[index++] as T)
        return
      }
      if (options.error) controller.error(options.error.error)
      else controller.close()
    },
    cancel() {
      if (timer !== undefined) clock.clearTimeout(timer)
    },
  })
}

/** Options of `mockApiCallError()`. */
export interface MockApiCallErrorOptions {
  /** HTTP status. */
  status: number
  /** Default `HTTP <status> (mock)`. */
  message?: string
  /** Sets the `retry-after` response header (seconds). */
  retryAfter?: number
  /** Sets the `retry-after-ms` response header. */
  retryAfterMs?: number
  /** Default as the AI SDK decides: 408, 409, 429 and 5xx are retryable. */
  isRetryable?: boolean
  /** The response body. Default: an OpenAI-style error. */
  body?: string
  /** Default `http://mock.invalid/v1/chat/completions`. */
  url?: string
}

/** The `APICallError` a provider throws for an HTTP error, to throw from a mock model. */
export function mockApiCallError(options: MockApiCallErrorOptions): APICallError {
  const message = options.message ?? `HTTP ${options.status} (mock)`
  const responseHeaders: Record<string, string> = { 'content-type': 'application/json' }
  if (options.retryAfter !== undefined) responseHeaders['retry-after'] = String(options.retryAfter)
  if (options.retryAfterMs !== undefined) responseHeaders['retry-after-ms'] = String(options.retryAfterMs)
  return new APICallError({
    message,
    url: options.url ?? 'http://mock.invalid/v1/chat/completions',
    requestBodyValues: {},
    statusCode: options.status,
    responseHeaders,
    responseBody: options.body ?? JSON.stringify({ error: { message, type: 'mock_error', param: null, code: null } }),
    ...(options.isRetryable === undefined ? {} : { isRetryable: options.isRetryable }),
  })
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value)
}
