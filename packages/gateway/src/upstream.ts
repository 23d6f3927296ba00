import { APICallError, type LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { onAbort } from '@llmpool/router'
import { type ExchangeHandler, Http1Pool } from './http1'

/** An upstream's answer: status, body text, and (for error statuses only) the headers. */
export interface UpstreamAnswer {
  status: number
  text: string
  /** Lower-case names; only for status ≥ 400, where `retry-after` and the like matter. */
  headers?: Record<string, string>
}

/**
 * Keep-alive connection pools, one per upstream origin, shared by every pass-through model of a gateway (http1.ts:
 * a handler collects the body's buffers, no stream wraps the answer).
 *
 * There are no header or body timeouts of the client's own: the router's attempt timeout and deadline govern, and
 * they abort the request through `onAbort`.
 */
export class Upstreams {
  private readonly pools = new Map<string, Http1Pool>()
  /** The largest answer body read (bytes); a larger one fails the attempt rather than fill the memory. */
  private readonly maxAnswerBytes: number

  constructor(options: { maxAnswerBytes?: number } = {}) {
    this.maxAnswerBytes = options.maxAnswerBytes ?? 64 * 1024 * 1024
  }

  private pool(url: URL): Http1Pool {
    let pool = this.pools.get(url.origin)
    if (!pool) {
      pool = new Http1Pool(url, { connections: 256, keepAliveMs: 30_000 })
      this.pools.set(url.origin, pool)
    }
    return pool
  }

  /** POSTs `body` to `url`; rejects on network errors and on the call's abort (with the abort reason). */
  post(
    url: URL,
    headers: Record<string, string>,
    body: string,
    call: LanguageModelV3CallOptions,
  ): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(resolve, reject, this.maxAnswerBytes)
      exchange.stopListening = onAbort(call, (reason) => exchange.abortWith(reason))
      this.dispatch(url, headers, body, exchange)
    })
  }

  /** POSTs `body` to `url` with a handler of the caller's own (a stream's: stream-pass-through.ts). */
  dispatch(url: URL, headers: Record<string, string>, body: string, handler: ExchangeHandler): void {
    try {
      this.pool(url).post(url.pathname + url.search, headers, body, handler)
    } catch (error) {
      handler.onError(error as Error)
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()))
    this.pools.clear()
  }
}

/** One request's handler: collects the answer's buffers; a class, so that a request allocates one object. */
class Exchange implements ExchangeHandler {
  stopListening: () => void = noop
  private abortRequest: ((reason: Error) => void) | undefined
  private abortedWith: unknown
  private done = false
  private status = 0
  private rawHeaders: string[] | undefined
  private readonly chunks: Buffer[] = []
  private size = 0

  constructor(
    private readonly resolve: (answer: UpstreamAnswer) => void,
    private readonly reject: (error: unknown) => void,
    private readonly maxBytes: number,
  ) {}

  abortWith(reason: unknown): void {
    this.abortedWith = reason ?? new Error('aborted')
    this.abortRequest?.(this.abortedWith as Error)
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort
    if (this.abortedWith !== undefined) abort(this.abortedWith as Error)
  }

  onError(error: Error): void {
    if (this.done) return
    this.done = true
    this.stopListening()
    this.reject(this.abortedWith ?? error)
  }

  onHeaders(statusCode: number, headers: string[]): boolean {
    this.status = statusCode
    if (statusCode >= 400) this.rawHeaders = headers
    return true
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length
    if (this.size > this.maxBytes) {
      this.abortRequest?.(new Error(`the upstream's answer is larger than ${this.maxBytes} bytes`))
      return false
    }
    // The chunk is lent (http1.ts): kept as a copy.
    this.chunks.push(Buffer.from(chunk))
    return true
  }

  onComplete(): void {
    if (this.done) return
    this.done = true
    this.stopListening()
    const { chunks, status, rawHeaders } = this
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')
    this.resolve(rawHeaders ? { status, text, headers: headerRecord(rawHeaders) } : { status, text })
  }
}

const noop = () => undefined

/** A raw header list (name, value, name, value, ...) as a record; repeated names are joined with ", ". */
export function headerRecord(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!.toLowerCase()
    const value = raw[index + 1]!
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
}

/**
 * An upstream's error status as the AI SDK reports it: an `APICallError` with the status and the headers, so that
 * the router reads `retry-after` and classifies the failure as it does for the AI SDK's own models.
 */
export function statusError(
  url: string,
  requestBody: unknown,
  status: number,
  headers: Record<string, string> | undefined,
  text: string,
): APICallError {
  return new APICallError({
    message: `upstream answered ${status}`,
    url,
    requestBodyValues: requestBody,
    statusCode: status,
    ...(headers ? { responseHeaders: headers } : {}),
    responseBody: text.slice(0, 2000),
    isRetryable: status === 408 || status === 409 || status === 429 || status >= 500,
  })
}

/** A request that got no answer (refused, reset, aborted before the headers): retryable, as the AI SDK reports it. */
export function connectionError(url: string, requestBody: unknown, error: unknown): APICallError {
  return new APICallError({
    message: `request to ${url} failed: ${(error as Error).message}`,
    url,
    requestBodyValues: requestBody,
    cause: error,
    isRetryable: true,
  })
}
