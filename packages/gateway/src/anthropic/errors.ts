import { HttpError, toHttpError } from '../http-error'

/** Anthropic's `error.type` values the gateway answers with. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error'

/**
 * The Anthropic type of each status the gateway answers with. The statuses themselves stay the gateway's (the same as
 * on `/v1/chat/completions`), so a 503 stays a 503 rather than becoming Anthropic's 529: Anthropic's SDKs retry 429
 * and every 5xx alike, and operators read one set of statuses in the access log and `/metrics`.
 */
const TYPES: Record<number, AnthropicErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
}

/** `{ "type": "error", "error": { "type", "message" } }`, Anthropic's error body. */
export function anthropicErrorBody(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } })
}

/** The gateway's answer to `error` (an `HttpError` or anything the router threw) in Anthropic's shape. */
export function toAnthropicError(error: unknown): { status: number; body: string; headers: Record<string, string> } {
  const http = toHttpError(error)
  const type = TYPES[http.status] ?? (http.status >= 500 ? 'api_error' : 'invalid_request_error')
  return { status: http.status, body: anthropicErrorBody(type, http.message), headers: http.headers }
}

/** A 400 about one field of the request, named as Anthropic names fields: `messages.2.content.0.text: ...`. */
export const invalidField = (field: string, message: string) =>
  new HttpError(400, 'invalid_request_error', 'invalid_value', `${field}: ${message}`)

/** The `error` event that ends a stream which failed after it started (never a `message_stop`). */
export function streamErrorEvent(error: unknown): string {
  const kind = typeof error === 'object' && error !== null && 'name' in error ? String((error as Error).name) : 'error'
  // The upstream's own message is not repeated: it is not scrubbed the way the router's attempt records are.
  return `event: error\ndata: ${anthropicErrorBody('api_error', `the upstream stream failed after it started (${kind})`)}\n\n`
}
