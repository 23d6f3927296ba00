/** classifyFailure over the error shapes LLM calls fail with, and which kinds defaultIsFailure counts. */
import {
  BrokenCircuitError,
  classifyFailure,
  COUNTED_FAILURE_KINDS,
  countFailureKinds,
  defaultIsFailure,
  FAILURE_KINDS,
  type FailureKind,
  TrialTimeoutError,
} from '@llmpool/breaker'
import { describe, expect, test } from 'vitest'

/** An AI SDK APICallError as `ai` / `@ai-sdk/provider` build it. */
function apiCallError(statusCode: number | undefined, responseBody?: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`API call failed (${statusCode ?? 'no response'})`), {
    name: 'AI_APICallError',
    statusCode,
    responseBody,
    isRetryable: statusCode === undefined || statusCode === 408 || statusCode === 429 || statusCode >= 500,
    url: 'https://api.example.com/v1/chat/completions',
    ...extra,
  })
}

function systemError(code: string, message = code) {
  return Object.assign(new Error(message), { code })
}

const openaiBody = (type: string, message: string, code = type) => JSON.stringify({ error: { message, type, code } })

const table: Array<[string, unknown, FailureKind]> = [
  // 429: quota used up versus a short-window rate limit
  [
    '429 insufficient_quota (OpenAI)',
    apiCallError(
      429,
      openaiBody('insufficient_quota', 'You exceeded your current quota, please check your plan and billing details.'),
    ),
    'quota_exhausted',
  ],
  [
    '429 rate_limit_exceeded that mentions billing (OpenAI)',
    apiCallError(
      429,
      openaiBody(
        'tokens',
        'Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000. Add a payment method at https://platform.openai.com/account/billing to increase your rate limit.',
        'rate_limit_exceeded',
      ),
    ),
    'rate_limit',
  ],
  [
    '429 rate_limit_error (Anthropic)',
    apiCallError(
      429,
      JSON.stringify({
        type: 'error',
        error: {
          type: 'rate_limit_error',
          message: 'Number of request tokens has exceeded your per-minute rate limit',
        },
      }),
    ),
    'rate_limit',
  ],
  [
    '429 per-minute quota metric (Gemini)',
    apiCallError(
      429,
      JSON.stringify({
        error: {
          code: 429,
          status: 'RESOURCE_EXHAUSTED',
          message: 'Quota exceeded for quota metric GenerateRequestsPerMinutePerProjectPerModel',
        },
      }),
    ),
    'rate_limit',
  ],
  [
    '429 quota without a window (Gemini)',
    apiCallError(
      429,
      JSON.stringify({
        error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' },
      }),
    ),
    'quota_exhausted',
  ],
  ['429 plain', apiCallError(429, 'Too Many Requests'), 'rate_limit'],
  [
    '429 AWS ThrottlingException',
    Object.assign(new Error('Too many requests, please wait before trying again.'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 429 },
    }),
    'rate_limit',
  ],
  ['402 payment required', apiCallError(402, ''), 'quota_exhausted'],
  [
    '400 credit balance too low (Anthropic)',
    apiCallError(
      400,
      JSON.stringify({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: 'Your credit balance is too low to access the Anthropic API.',
        },
      }),
    ),
    'quota_exhausted',
  ],
  // overload and server errors
  [
    '529 overloaded (Anthropic)',
    apiCallError(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })),
    'overloaded',
  ],
  [
    '503 "model is overloaded" (Gemini)',
    apiCallError(
      503,
      JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.' } }),
    ),
    'overloaded',
  ],
  ['503 service unavailable', apiCallError(503, 'Service Unavailable'), 'server_error'],
  ['500', apiCallError(500, 'Internal Server Error'), 'server_error'],
  ['502', apiCallError(502), 'server_error'],
  ['504 gateway timeout', apiCallError(504), 'timeout'],
  ['408 request timeout', apiCallError(408), 'timeout'],
  ['status as a string', { status: '503', message: 'unavailable' }, 'server_error'],
  [
    'SDK error with status (OpenAI/Anthropic SDK shape)',
    Object.assign(new Error('500 Internal'), { name: 'InternalServerError', status: 500 }),
    'server_error',
  ],
  ['response.status', { message: 'HTTP error', response: { status: 502 } }, 'server_error'],
  // auth and request errors
  [
    '401',
    apiCallError(401, openaiBody('invalid_request_error', 'Incorrect API key provided', 'invalid_api_key')),
    'auth',
  ],
  ['403', apiCallError(403, 'Forbidden'), 'auth'],
  [
    '400',
    apiCallError(
      400,
      openaiBody(
        'invalid_request_error',
        "This model's maximum context length is 128000 tokens",
        'context_length_exceeded',
      ),
    ),
    'bad_request',
  ],
  ['422', apiCallError(422, 'Unprocessable Entity'), 'bad_request'],
  ['413', apiCallError(413, 'Payload Too Large'), 'bad_request'],
  [
    '404',
    apiCallError(404, openaiBody('invalid_request_error', 'The model `gpt-9` does not exist', 'model_not_found')),
    'not_found',
  ],
  [
    '400 content_filter (Azure OpenAI)',
    apiCallError(
      400,
      JSON.stringify({
        error: {
          code: 'content_filter',
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        },
      }),
    ),
    'content_policy',
  ],
  [
    '400 content_policy_violation (OpenAI images)',
    apiCallError(
      400,
      openaiBody(
        'invalid_request_error',
        'Your request was rejected as a result of our safety system.',
        'content_policy_violation',
      ),
    ),
    'content_policy',
  ],
  // aborts and timeouts by name
  ['AbortError (caller abort)', new DOMException('This operation was aborted', 'AbortError'), 'aborted'],
  [
    'APIUserAbortError (OpenAI SDK)',
    Object.assign(new Error('Request was aborted.'), { name: 'APIUserAbortError' }),
    'aborted',
  ],
  [
    'TimeoutError (AbortSignal.timeout)',
    new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    'timeout',
  ],
  [
    'APIConnectionTimeoutError (OpenAI SDK)',
    Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' }),
    'timeout',
  ],
  ['TrialTimeoutError', new TrialTimeoutError({ timeoutMs: 100 }), 'timeout'],
  // network errors, on the error or its cause
  [
    'fetch failed: ECONNREFUSED',
    new TypeError('fetch failed', { cause: systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443') }),
    'network_error',
  ],
  ['fetch failed: ECONNRESET', new TypeError('fetch failed', { cause: systemError('ECONNRESET') }), 'network_error'],
  ['fetch failed: ENOTFOUND', new TypeError('fetch failed', { cause: systemError('ENOTFOUND') }), 'network_error'],
  [
    'fetch failed: UND_ERR_SOCKET',
    new TypeError('fetch failed', { cause: systemError('UND_ERR_SOCKET', 'other side closed') }),
    'network_error',
  ],
  [
    'fetch failed: UND_ERR_CONNECT_TIMEOUT',
    new TypeError('fetch failed', { cause: systemError('UND_ERR_CONNECT_TIMEOUT') }),
    'timeout',
  ],
  [
    'fetch failed: UND_ERR_HEADERS_TIMEOUT',
    new TypeError('fetch failed', { cause: systemError('UND_ERR_HEADERS_TIMEOUT') }),
    'timeout',
  ],
  ['ETIMEDOUT', systemError('ETIMEDOUT'), 'timeout'],
  ['TLS certificate error', new TypeError('fetch failed', { cause: systemError('CERT_HAS_EXPIRED') }), 'network_error'],
  ['fetch failed without a cause', new TypeError('fetch failed'), 'network_error'],
  [
    'APICallError without a response',
    apiCallError(undefined, undefined, { cause: new TypeError('fetch failed', { cause: systemError('ECONNRESET') }) }),
    'network_error',
  ],
  ['APICallError without a response or cause', apiCallError(undefined), 'network_error'],
  [
    'APIConnectionError (OpenAI SDK)',
    Object.assign(new Error('Connection error.'), { name: 'APIConnectionError' }),
    'network_error',
  ],
  ['socket hang up', new Error('socket hang up'), 'network_error'],
  // wrappers
  [
    'AI SDK RetryError: its last error',
    Object.assign(new Error('Failed after 3 attempts'), {
      name: 'AI_RetryError',
      reason: 'maxRetriesExceeded',
      lastError: apiCallError(529),
      errors: [apiCallError(529)],
    }),
    'overloaded',
  ],
  ['a wrapper with a cause', new Error('model call failed', { cause: apiCallError(401) }), 'auth'],
  // nothing to go on
  ['plain Error', new Error('something odd'), 'unknown'],
  ['a string', 'boom', 'unknown'],
  ['null', null, 'unknown'],
  ['undefined', undefined, 'unknown'],
  [
    'BrokenCircuitError of another breaker',
    new BrokenCircuitError({ code: 'circuit_open', retryAfterMs: 5 }),
    'unknown',
  ],
]

describe('classifyFailure', () => {
  for (const [label, error, kind] of table) {
    test(`${label} → ${kind}`, () => {
      expect(classifyFailure(error)).toBe(kind)
    })
  }

  test('a cause cycle does not hang', () => {
    const error = new Error('outer') as Error & { cause?: unknown }
    const inner = new Error('inner', { cause: error })
    error.cause = inner
    expect(classifyFailure(error)).toBe('unknown')
  })

  test('a body that cannot be stringified does not throw', () => {
    const data: Record<string, unknown> = {}
    data.self = data
    expect(classifyFailure({ statusCode: 400, data })).toBe('bad_request')
  })

  test('every kind in the table is a FailureKind, and the table covers every kind', () => {
    expect(new Set(table.map(([, , kind]) => kind))).toEqual(new Set(FAILURE_KINDS))
  })
})

describe('defaultIsFailure', () => {
  const counted: Record<FailureKind, boolean> = {
    timeout: true,
    server_error: true,
    overloaded: true,
    network_error: true,
    auth: true,
    quota_exhausted: true,
    unknown: true,
    rate_limit: false,
    aborted: false,
    bad_request: false,
    not_found: false,
    content_policy: false,
  }
  for (const [label, error, kind] of table) {
    test(`${label}: ${counted[kind] ? 'counts' : 'does not count'}`, () => {
      expect(defaultIsFailure(error)).toBe(counted[kind])
    })
  }

  test('COUNTED_FAILURE_KINDS lists exactly the counted kinds', () => {
    expect([...COUNTED_FAILURE_KINDS].sort()).toEqual(FAILURE_KINDS.filter((kind) => counted[kind]).sort())
  })

  test('countFailureKinds builds a predicate over other kinds', () => {
    const isFailure = countFailureKinds([...COUNTED_FAILURE_KINDS, 'not_found'])
    expect(isFailure(apiCallError(404))).toBe(true)
    expect(isFailure(apiCallError(400))).toBe(false)
  })
})
