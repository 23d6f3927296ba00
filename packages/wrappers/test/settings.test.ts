/** The [global] → router options mapping, and the text log format. */
import { expect, test } from 'vitest'
import { DEFAULT_WRAPPERS_GLOBAL, routerOptionsFrom, textDestination } from '../src/index'

test('seconds become milliseconds, names map one to one, cache and metrics follow their flags', () => {
  expect(routerOptionsFrom(DEFAULT_WRAPPERS_GLOBAL)).toEqual({
    requestTimeoutMs: 30_000,
    attemptBudget: 4,
    retryOn: ['timeout', 'rate_limit', 'network_error'],
    retry: { maxRetryDelayMs: 10_000, backoffFactor: 2 },
    cache: false,
    metrics: true,
  })
  const global = {
    ...DEFAULT_WRAPPERS_GLOBAL,
    default_timeout: 2.5,
    max_retries: 0,
    enable_metrics: false,
    error_handling: { retry_on_errors: ['server_error', 'overloaded'] as ('server_error' | 'overloaded')[], max_retry_delay: 0.5, backoff_factor: 3 },
    cache: { enabled: true, max_size: 5, ttl: 1.5 },
  }
  expect(routerOptionsFrom(global)).toEqual({
    requestTimeoutMs: 2500,
    attemptBudget: 1,
    retryOn: ['server_error', 'overloaded'],
    retry: { maxRetryDelayMs: 500, backoffFactor: 3 },
    cache: { maxSize: 5, ttlMs: 1500 },
    metrics: false,
  })
})

test('format = "text": time, level, message, then key=value', () => {
  const lines: string[] = []
  const out = textDestination({ write: (line) => lines.push(line) })
  out.write(`${JSON.stringify({ level: 30, time: 0, name: 'llmpool', msg: 'llmpool request', wrapper: 'w', request: { messages: 1 } })}\n`)
  expect(lines).toEqual(['1970-01-01T00:00:00.000Z INFO llmpool request name=llmpool wrapper=w request={"messages":1}\n'])
})
