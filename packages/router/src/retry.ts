/** How retries on one instance wait: exponential backoff with full jitter, and the upstream's retry-after. */
export interface RetryPolicy {
  /** First backoff (ms). */
  baseDelayMs: number
  /** Each retry waits this many times longer (TOML `backoff_factor`). */
  backoffFactor: number
  /** Longest backoff (ms) (TOML `max_retry_delay`, seconds). A retry-after longer than this moves to another instance. */
  maxRetryDelayMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 250, backoffFactor: 2, maxRetryDelayMs: 10_000 }

/** Full jitter: a random wait in [0, min(max, base × factor^retry)] (AWS architecture blog, "Exponential Backoff And Jitter"). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxRetryDelayMs, policy.baseDelayMs * policy.backoffFactor ** Math.max(0, retry - 1))
  return random() * ceiling
}

/** `retry-after-ms`, or `retry-after` (seconds or an HTTP date), from an error's response headers; ms or undefined. */
export function retryAfterMs(error: unknown, now: number): number | undefined {
  const headers = headersOf(error)
  if (!headers) return undefined
  const ms = Number(headers['retry-after-ms'])
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms
  const value = headers['retry-after']
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function headersOf(error: unknown): Record<string, string | undefined> | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const record = error as { responseHeaders?: unknown; headers?: unknown; cause?: unknown }
  const headers = record.responseHeaders ?? record.headers
  if (headers && typeof headers === 'object') {
    if (typeof (headers as Headers).get === 'function') {
      const get = (name: string) => (headers as Headers).get(name) ?? undefined
      return { 'retry-after': get('retry-after'), 'retry-after-ms': get('retry-after-ms') }
    }
    const lower: Record<string, string | undefined> = {}
    for (const [key, value] of Object.entries(headers)) lower[key.toLowerCase()] = value === undefined ? undefined : String(value)
    return lower
  }
  return record.cause === undefined ? undefined : headersOf(record.cause)
}
