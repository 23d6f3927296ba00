/**
 * `statusOf` is the one reader of an error's HTTP status: the router's attempt records, its cooldowns, its blame and
 * `classifyFailure` all use it. Before, the router read `statusCode ?? status` as a number on the error alone while
 * the breaker also read strings, `response.status` and `$metadata`: these cases answered differently.
 */
import { describe, expect, test } from 'vitest'
import { classifyFailure, statusOf } from '../src/index'

describe('statusOf', () => {
  test.each([
    ['statusCode (AI SDK APICallError)', { statusCode: 503 }, 503],
    ['status (OpenAI, Anthropic SDKs, fetch Response)', { status: 429 }, 429],
    ['a three-digit string', { status: '429' }, 429],
    ['response.status', { response: { status: 502 } }, 502],
    ['$metadata.httpStatusCode (AWS SDK)', { $metadata: { httpStatusCode: 500 } }, 500],
    ['in the cause', new Error('wrapped', { cause: { statusCode: 401 } }), 401],
    ['in a RetryError lastError', { name: 'AI_RetryError', lastError: { status: 503 } }, 503],
    [
      'the outermost status wins',
      Object.assign(new Error('outer', { cause: { status: 500 } }), { statusCode: 404 }),
      404,
    ],
  ])('%s', (_, error, expected) => {
    expect(statusOf(error)).toBe(expected)
  })

  test.each([
    ['no status', new Error('nothing')],
    ['an ioredis connection status', { status: 'ready' }],
    ['a number that is no HTTP status', { status: 0 }],
    ['a status out of range', { statusCode: 1000 }],
    ['not an object', 'HTTP 500'],
    ['undefined', undefined],
  ])('%s: undefined', (_, error) => {
    expect(statusOf(error)).toBeUndefined()
  })

  test('a cause chain that loops ends', () => {
    const error: { cause?: unknown } = {}
    error.cause = error
    expect(statusOf(error)).toBeUndefined()
    const a: { cause?: unknown } = {}
    const b = { cause: a }
    a.cause = b
    expect(statusOf(a)).toBeUndefined()
  })

  test("classifyFailure reads each link with its own words: an outer status does not borrow the cause's text", () => {
    // The cause says quota; the outer 429 says nothing: the outer link decides (rate_limit), as before.
    expect(
      classifyFailure(
        Object.assign(new Error('Too Many Requests', { cause: { status: 429, message: 'insufficient_quota' } }), {
          status: 429,
        }),
      ),
    ).toBe('rate_limit')
    // Without an outer status, the cause is classified with its own words.
    expect(
      classifyFailure(
        new Error('wrapped', {
          cause: { status: 429, message: 'You exceeded your current quota (insufficient_quota)' },
        }),
      ),
    ).toBe('quota_exhausted')
  })
})
