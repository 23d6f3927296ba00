import { BASE_RETRY_DELAY_MS, GLOBAL_DEFAULTS } from './plan/defaults'
import type { RetryPlan } from './plan/types'

/** How retries on one instance wait: exponential backoff with full jitter, and the upstream's retry-after. */
export type RetryPolicy = Pick<RetryPlan, 'baseDelayMs' | 'backoffFactor' | 'maxRetryDelayMs'>

/** The built-in retry policy: what a pool or task group called by its own name gets (from the plan's defaults). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: BASE_RETRY_DELAY_MS,
  backoffFactor: GLOBAL_DEFAULTS.error_handling.backoff_factor,
  maxRetryDelayMs: GLOBAL_DEFAULTS.error_handling.max_retry_delay * 1000,
})

/** Full jitter: a random wait in [0, min(max, base × factor^retry)] (AWS architecture blog, "Exponential Backoff And Jitter"). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxRetryDelayMs, policy.baseDelayMs * policy.backoffFactor ** Math.max(0, retry - 1))
  return random() * ceiling
}

/** `1s`, `6m0s`, `20ms`, `1h2m3.5s` (OpenAI's `x-ratelimit-reset-*`) in ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const parts = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(
    text.trim(),
  )
  if (!parts || text.trim() === '') return undefined
  const [, hours, minutes, seconds, milliseconds] = parts
  return (
    (Number(hours ?? 0) * 3600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000 + Number(milliseconds ?? 0)
  )
}

/** A header value of seconds, an HTTP date or an RFC 3339 date, in ms from `now`. */
function secondsOrDate(value: string, now: number): number | undefined {
  const seconds = Number(value)
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * How long the upstream asked us to wait, in ms, from an error's response headers: `retry-after-ms`, `retry-after`
 * (seconds or an HTTP date), else the reset time of the limit that is used up — OpenAI's `x-ratelimit-reset-requests`
 * / `-tokens` (durations), Anthropic's `anthropic-ratelimit-requests-reset` / `-tokens-reset` (dates). Undefined
 * when it gives no hint.
 */
export function retryAfterMs(error: unknown, now: number): number | undefined {
  const header = headerReader(error)
  if (!header) return undefined
  const ms = header('retry-after-ms')
  if (ms !== undefined) {
    const value = Number(ms)
    if (ms.trim() !== '' && Number.isFinite(value) && value >= 0) return value
  }
  const after = header('retry-after')
  if (after !== undefined) {
    const value = secondsOrDate(after, now)
    if (value !== undefined) return value
  }
  const resets: { remaining: string | undefined; reset: number | undefined }[] = [
    { remaining: header('x-ratelimit-remaining-requests'), reset: duration(header('x-ratelimit-reset-requests')) },
    { remaining: header('x-ratelimit-remaining-tokens'), reset: duration(header('x-ratelimit-reset-tokens')) },
    {
      remaining: header('anthropic-ratelimit-requests-remaining'),
      reset: date(header('anthropic-ratelimit-requests-reset'), now),
    },
    {
      remaining: header('anthropic-ratelimit-tokens-remaining'),
      reset: date(header('anthropic-ratelimit-tokens-reset'), now),
    },
  ].filter((entry) => entry.reset !== undefined)
  if (resets.length === 0) return undefined
  const exhausted = resets.filter((entry) => entry.remaining !== undefined && Number(entry.remaining) <= 0)
  return Math.max(...(exhausted.length > 0 ? exhausted : resets).map((entry) => entry.reset!))
}

function duration(value: string | undefined): number | undefined {
  return value === undefined ? undefined : (parseDuration(value) ?? secondsOrDate(value, 0))
}

function date(value: string | undefined, now: number): number | undefined {
  return value === undefined ? undefined : secondsOrDate(value, now)
}

/** A lower-case header lookup over an error's response headers (a record or a `Headers`), or its cause's. */
function headerReader(error: unknown, depth = 0): ((name: string) => string | undefined) | undefined {
  if (typeof error !== 'object' || error === null || depth > 3) return undefined
  const record = error as { responseHeaders?: unknown; headers?: unknown; cause?: unknown }
  const headers = record.responseHeaders ?? record.headers
  if (headers && typeof headers === 'object') {
    if (typeof (headers as Headers).get === 'function') return (name) => (headers as Headers).get(name) ?? undefined
    const lower = new Map<string, string>()
    for (const [key, value] of Object.entries(headers))
      if (value !== undefined && value !== null) lower.set(key.toLowerCase(), String(value))
    return (name) => lower.get(name)
  }
  return record.cause === undefined ? undefined : headerReader(record.cause, depth + 1)
}
