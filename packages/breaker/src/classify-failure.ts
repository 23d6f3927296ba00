import { TrialTimeoutError } from './trial-timeout-error'
import { ownStatusOf } from './status-of'

/** Every kind `classifyFailure` returns, in a stable order. */
export const FAILURE_KINDS = [
  'timeout',
  'rate_limit',
  'quota_exhausted',
  'overloaded',
  'server_error',
  'network_error',
  'auth',
  'bad_request',
  'not_found',
  'content_policy',
  'aborted',
  'unknown',
] as const

/** What kind of failure an error is; see `classifyFailure`. */
export type FailureKind = (typeof FAILURE_KINDS)[number]

const MAX_DEPTH = 4
const MAX_TEXT = 4_000

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
])
const ABORT_NAMES = new Set(['AbortError', 'APIUserAbortError'])
const TIMEOUT_NAMES = new Set(['TimeoutError', 'APIConnectionTimeoutError'])
const NETWORK_NAMES = new Set(['APIConnectionError', 'FetchError'])

const CONTENT_POLICY = /content[_ -]?filter|content[_ -]?policy|content management policy|responsibleaipolicyviolation/i
const OVERLOADED = /overloaded/i
/** Quota that is used up, not a short window: wins over everything else. */
const QUOTA_EXPLICIT = /insufficient[_ ]quota|credit balance|out of credits/i
/** A limit over a short window, or a hint to retry soon: a rate limit, whatever else the text says. */
const SHORT_WINDOW = /per[ _-]?(second|minute)|per[ _-]?min\b|\b(rpm|tpm|rps)\b|rate[ _-]?limit|(retry|try again) in\b/i
const QUOTA_VAGUE = /quota|billing|credits?\b|payment/i

/**
 * Sorts an error into a `FailureKind` by reading the shapes that LLM calls fail with:
 *
 * - HTTP status in `statusCode` (AI SDK `APICallError`), `status` (OpenAI and Anthropic SDKs, fetch `Response`),
 *   `response.status` or `$metadata.httpStatusCode` (AWS SDK);
 * - `name`: `AbortError` / `APIUserAbortError` (the caller aborted), `TimeoutError` (`AbortSignal.timeout()`);
 * - Node and undici error codes (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `UND_ERR_*`), on the error or its `cause`;
 * - the response body and message, for quota, overload and content-policy wording;
 * - `cause` chains and AI SDK `RetryError.lastError`, a few levels deep.
 *
 * The table is in the package README. Never throws.
 */
export function classifyFailure(error: unknown): FailureKind {
  return classify(error, 0)
}

function classify(error: unknown, depth: number): FailureKind {
  if (typeof error !== 'object' || error === null) return 'unknown'
  if (TrialTimeoutError.isInstance(error)) return 'timeout'
  const record = error as Record<string, unknown>
  const name = typeof record.name === 'string' ? record.name : ''
  if (ABORT_NAMES.has(name)) return 'aborted'
  if (TIMEOUT_NAMES.has(name)) return 'timeout'

  // Only this link's own status: its cause is classified on its own below, with its own words.
  const status = ownStatusOf(record)
  if (status !== undefined) {
    const kind = classifyStatus(status, textOf(record))
    if (kind !== 'unknown') return kind
  }

  const code = typeof record.code === 'string' ? record.code : ''
  if (code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'aborted'
  if (TIMEOUT_CODES.has(code)) return 'timeout'
  if (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_') || /^(ERR_TLS|CERT_|UNABLE_TO_)/.test(code)) {
    return 'network_error'
  }
  if (NETWORK_NAMES.has(name)) return 'network_error'

  if (depth < MAX_DEPTH) {
    if (name === 'AI_RetryError' && record.lastError !== undefined) return classify(record.lastError, depth + 1)
    if (record.cause !== undefined && record.cause !== error) {
      const kind = classify(record.cause, depth + 1)
      if (kind !== 'unknown') return kind
    }
  }

  const message = typeof record.message === 'string' ? record.message : ''
  if (name === 'TypeError' && /fetch failed|network/i.test(message)) return 'network_error'
  if (/socket hang up/i.test(message)) return 'network_error'
  // AI SDK: an APICallError without a status is a failed request that never got a response.
  if (name === 'AI_APICallError' && status === undefined && record.isRetryable === true) return 'network_error'
  const text = textOf(record)
  if (CONTENT_POLICY.test(text)) return 'content_policy'
  if (/overloaded_error/i.test(text)) return 'overloaded'
  return 'unknown'
}

function classifyStatus(status: number, text: string): FailureKind {
  if (status === 402) return 'quota_exhausted'
  if (status === 429) return quotaOrRateLimit(text)
  if (status === 529) return 'overloaded'
  if (status === 408 || status === 504) return 'timeout'
  if (status >= 500) return OVERLOADED.test(text) ? 'overloaded' : 'server_error'
  if (status === 401 || status === 403) return QUOTA_EXPLICIT.test(text) ? 'quota_exhausted' : 'auth'
  if (status === 404) return 'not_found'
  if (status >= 400) {
    if (CONTENT_POLICY.test(text)) return 'content_policy'
    if (QUOTA_EXPLICIT.test(text)) return 'quota_exhausted'
    return 'bad_request'
  }
  return 'unknown'
}

function quotaOrRateLimit(text: string): 'quota_exhausted' | 'rate_limit' {
  if (QUOTA_EXPLICIT.test(text)) return 'quota_exhausted'
  if (SHORT_WINDOW.test(text)) return 'rate_limit'
  return QUOTA_VAGUE.test(text) ? 'quota_exhausted' : 'rate_limit'
}

/** The words an error carries: message, code, type, response body and parsed error data, bounded in length. */
function textOf(record: Record<string, unknown>): string {
  const parts: string[] = []
  for (const key of ['message', 'code', 'type', 'responseBody', 'body']) {
    const value = record[key]
    if (typeof value === 'string') parts.push(value.slice(0, MAX_TEXT))
  }
  for (const key of ['data', 'error']) {
    const value = record[key]
    if (typeof value === 'object' && value !== null) parts.push(stringify(value))
  }
  return parts.join('\n')
}

function stringify(value: object): string {
  try {
    return (JSON.stringify(value) ?? '').slice(0, MAX_TEXT)
  } catch {
    return ''
  }
}
