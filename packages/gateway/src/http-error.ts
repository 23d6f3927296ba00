import { LLMPoolError } from '@llmpool/schema'
import {
  AllAttemptsFailedError,
  EmbeddingsUnsupportedError,
  InvalidRequestError,
  LocalFailureError,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  UnknownTargetError,
} from '@llmpool/router'
import { LimiterUnavailableError } from '@llmpool/limiter'
import { FunctionCallingDisabledError, UnknownWrapperError } from '@llmpool/wrappers'

/** An error the gateway answers with: an HTTP status and OpenAI's error body. Never carries a stack or a secret. */
const httpMarker = 'llmpool.error.HttpError'
const httpSymbol = Symbol.for(httpMarker)

export class HttpError extends LLMPoolError {
  private readonly [httpSymbol] = true

  constructor(
    /** The HTTP status. */
    readonly status: number,
    /** OpenAI's `error.type`. */
    readonly type: string,
    /** OpenAI's `error.code`. */
    code: string,
    message: string,
    /** Extra response headers (`retry-after`). */
    readonly headers: Record<string, string> = {},
    /**
     * OpenAI's `error.param`: the request field at fault, as a path (`model`, `temperature`, `messages[2].content`,
     * `tools[0]`); `null` when no one field is (a body that is not JSON, an upstream failure).
     */
    readonly param: string | null = null,
  ) {
    super({ code, message })
    this.name = 'HttpError'
  }

  static override isInstance(error: unknown): error is HttpError {
    return LLMPoolError.hasMarker(error, httpMarker)
  }

  /** `{ error: { message, type, code, param } }`. */
  body(): string {
    return JSON.stringify({ error: { message: this.message, type: this.type, code: this.code, param: this.param } })
  }
}

/**
 * What a router error (or anything else thrown while serving) becomes on the wire. The router's messages are
 * scrubbed of secrets already; anything unexpected gets a generic message so no internal detail leaks.
 */
export function toHttpError(error: unknown): HttpError {
  if (HttpError.isInstance(error)) return error
  if (RateLimitedError.isInstance(error)) {
    const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    return new HttpError(429, 'rate_limit_error', 'rate_limited', error.message, {
      'retry-after': String(seconds),
      'retry-after-ms': String(Math.max(0, Math.ceil(error.retryAfterMs))),
    })
  }
  if (UnknownTargetError.isInstance(error) || UnknownWrapperError.isInstance(error)) {
    const model = UnknownWrapperError.isInstance(error) ? error.wrapperName : error.target
    return new HttpError(
      404,
      'invalid_request_error',
      'model_not_found',
      `the model "${model}" does not exist: name a wrapper, pool or task group (GET /v1/models)`,
      {},
      'model',
    )
  }
  if (FunctionCallingDisabledError.isInstance(error))
    return new HttpError(400, 'invalid_request_error', 'function_calling_disabled', error.message, {}, 'tools')
  // The provider could not build the request: which field it choked on is not known, so no `param`.
  if (InvalidRequestError.isInstance(error))
    return new HttpError(400, 'invalid_request_error', 'invalid_request', error.message)
  // The model named cannot embed (none of its instances can).
  if (EmbeddingsUnsupportedError.isInstance(error))
    return new HttpError(400, 'invalid_request_error', 'embeddings_unsupported', error.message, {}, 'model')
  if (LimiterUnavailableError.isInstance(error)) {
    // Fail-closed: the shared limits cannot be read, so nothing is sent upstream; the client may come back soon.
    const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    return new HttpError(
      503,
      'service_unavailable_error',
      'limits_unavailable',
      'the shared rate limits are unavailable (Redis cannot be reached); retry shortly',
      {
        'retry-after': String(seconds),
      },
    )
  }
  if (LocalFailureError.isInstance(error))
    return new HttpError(500, 'server_error', 'internal_error', 'the gateway failed to handle the request')
  if (RequestTimeoutError.isInstance(error))
    return new HttpError(504, 'timeout_error', 'request_timeout', error.message)
  if (RequestRejectedError.isInstance(error))
    return new HttpError(400, 'invalid_request_error', 'request_rejected', error.message)
  if (NoInstanceAvailableError.isInstance(error)) {
    const headers: Record<string, string> =
      error.retryAfterMs !== undefined
        ? { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) }
        : {}
    return new HttpError(503, 'service_unavailable_error', 'no_instance_available', error.message, headers)
  }
  if (AllAttemptsFailedError.isInstance(error)) {
    // 502 when the last upstream answered with an error status; 503 when none answered (network errors, timeouts).
    const answered = error.attempts[error.attempts.length - 1]?.error?.statusCode !== undefined
    return new HttpError(
      answered ? 502 : 503,
      answered ? 'upstream_error' : 'service_unavailable_error',
      'all_attempts_failed',
      error.message,
    )
  }
  return new HttpError(500, 'server_error', 'internal_error', 'the gateway failed to handle the request')
}

/** The message of an error inside a committed stream, in the same shape. */
export function streamErrorBody(error: unknown): string {
  const kind = typeof error === 'object' && error !== null && 'name' in error ? String((error as Error).name) : 'error'
  // The upstream's own message is not repeated: it is not scrubbed the way the router's attempt records are.
  return JSON.stringify({
    error: {
      message: `the upstream stream failed after it started (${kind})`,
      type: 'upstream_error',
      code: 'stream_interrupted',
      param: null,
    },
  })
}
