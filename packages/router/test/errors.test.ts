import { LLMPoolError } from '@llmpool/schema'
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import {
  AllAttemptsFailedError,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  RouterError,
  type RouterEvent,
  UnknownTargetError,
} from '../src/index'
import {
  after,
  configFrom,
  disposeRouters,
  fails,
  httpError,
  layout,
  mockProvider,
  prompt,
  rejection,
  routerFor,
  setup,
  textResult,
} from './helpers'

afterEach(disposeRouters)

const group = (models: string[], echelon = '') => `
[task_group.circuit_breaker]
failure_threshold = 100
[task_group.fallback]
max_attempts = 5
retry_delay = 0
[task_group.echelons.e1]
models = [${models.map((model) => `"mock:${model}"`).join(', ')}]
max_retries = 1
${echelon}
`

describe('Errors', { timeout: 5000 }, () => {
  test('UnknownTargetError: no enabled pool or task group of that name, with suggestions', async () => {
    const files = layout({ groups: { fast_group: group(['a']), off_group: group(['b']) } })
    files['_registry.toml'] = files['_registry.toml']!.replace(
      'off_group = { file = "task-groups/off_group.toml" }',
      'off_group = { file = "task-groups/off_group.toml", enabled = false }',
    )
    const router = routerFor(await configFrom(files), mockProvider())
    const error = await rejection(router.generate('fast_grop', prompt))
    expect(UnknownTargetError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({
      name: 'UnknownTargetError',
      code: 'unknown_target',
      isRetryable: false,
      target: 'fast_grop',
      attempts: [],
    })
    expect(error.message).toContain('did you mean "fast_group"')
    expect(UnknownTargetError.isInstance(await rejection(router.generate('off_group', prompt)))).toBe(true)
    expect(UnknownTargetError.isInstance(await rejection(router.stream('nothing', prompt)))).toBe(true)
  })

  test('AllAttemptsFailedError lists every attempt: instance, retry number, kind, status code, message and duration', async () => {
    const config = await setup({ groups: { g: group(['a', 'b']) } })
    const clock = new FakeClock()
    const mock = mockProvider({
      a: after(clock, 100, httpError(503, 'Service Unavailable')),
      b: fails(httpError(401, 'bad key')),
    })
    const failure = rejection(
      routerFor(config, mock, { clock, random: () => 0, retryOn: ['server_error'] }).generate('g', prompt),
    )
    await clock.advance(1000)
    const error = await failure
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({
      name: 'AllAttemptsFailedError',
      code: 'all_attempts_failed',
      isRetryable: true,
      target: 'g',
    })
    expect(error.attempts).toEqual([
      {
        instance: 'g.e1/mock:a',
        retry: 0,
        durationMs: 100,
        error: { kind: 'server_error', statusCode: 503, message: 'Service Unavailable' },
      },
      {
        instance: 'g.e1/mock:a',
        retry: 1,
        durationMs: 100,
        error: { kind: 'server_error', statusCode: 503, message: 'Service Unavailable' },
      },
      {
        instance: 'g.e1/mock:b',
        retry: 0,
        durationMs: 0,
        error: { kind: 'auth', statusCode: 401, message: 'bad key' },
      },
    ])
    expect(error.message).toContain('all 3 attempts for "g" failed; last: g.e1/mock:b: bad key')
    expect(error.cause).toMatchObject({ statusCode: 401 })
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      code: 'all_attempts_failed',
      isRetryable: true,
      attempts: error.attempts,
    })
  })

  test('AllAttemptsFailedError is not retryable when every attempt was refused for auth or not found', async () => {
    const config = await setup({ groups: { g: group(['a', 'b']) } })
    const mock = mockProvider({ a: fails(httpError(401)), b: fails(httpError(404)) })
    const error = await rejection(routerFor(config, mock).generate('g', prompt))
    expect(AllAttemptsFailedError.isInstance(error)).toBe(true)
    expect(error.isRetryable).toBe(false)
  })

  test('each error has its code, isRetryable, a marker-based isInstance and the LLMPoolError base', async () => {
    const config = await setup({ groups: { g: group(['a'], 'concurrency_limit = 1\ntimeout = 30') } })
    const clock = new FakeClock()
    const mock = mockProvider({ a: fails(httpError(400, 'Invalid parameter')) })
    const router = routerFor(config, mock, { clock })
    const rejected = await rejection(router.generate('g', prompt))

    mock.behaviours.a = (call) =>
      new Promise((_resolve, reject) =>
        call.abortSignal?.addEventListener('abort', () => reject(call.abortSignal?.reason)),
      )
    const timedOut = rejection(router.generate('g', prompt, { timeoutMs: 2000 }))
    await clock.advance(0)
    const limited = rejection(router.generate('g', prompt, { timeoutMs: 1000 }))
    await clock.advance(2000)

    mock.behaviours.a = () => Promise.reject(httpError(500))
    const breakerConfig = await setup({
      groups: { g: group(['a']).replace('failure_threshold = 100', 'failure_threshold = 1') },
    })
    const breakerRouter = routerFor(breakerConfig, mock, { random: () => 0 })
    await rejection(breakerRouter.generate('g', prompt))
    const none = await rejection(breakerRouter.generate('g', prompt))

    const cases: [unknown, { isInstance(error: unknown): boolean }, string, boolean][] = [
      [rejected, RequestRejectedError, 'request_rejected', false],
      [await timedOut, RequestTimeoutError, 'request_timeout', true],
      [await limited, RateLimitedError, 'rate_limited', true],
      [none, NoInstanceAvailableError, 'no_instance_available', true],
    ]
    const classes = cases.map(([, type]) => type)
    for (const [error, type, code, retryable] of cases) {
      expect(error).toMatchObject({ code, isRetryable: retryable, target: 'g' })
      expect(error).toBeInstanceOf(RouterError)
      expect(LLMPoolError.isInstance(error)).toBe(true)
      for (const other of classes) expect(other.isInstance(error)).toBe(other === type)
    }
    expect(RateLimitedError.isInstance(new Error('rate limited'))).toBe(false)
  })

  test("no secret: an echelon's api_key quoted by an upstream error is scrubbed from attempts, events and the error", async () => {
    const key = 'sk-live-4f9a8b7c6d5e4f3a2b1c'
    const odd = 'hunter2-correct-horse' // not key-like: scrubbed because it is this instance's own key
    const config = await setup({
      groups: {
        g: group(['a']).replace('max_retries = 1', `max_retries = 0\napi_key = "${key}"`),
        h: group(['b']).replace('max_retries = 1', `max_retries = 0\napi_key = "${odd}"`),
      },
    })
    const mock = mockProvider({
      a: fails(
        httpError(401, `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com.`),
      ),
      b: fails(httpError(401, `invalid credentials "${odd}" (Authorization: Bearer ${odd})`)),
    })
    const router = routerFor(config, mock)
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const errors = [await rejection(router.generate('g', prompt)), await rejection(router.generate('h', prompt))]
    const everything = JSON.stringify({
      errors,
      messages: errors.map((error) => error.message),
      attempts: errors.map((error) => error.attempts),
      events,
    })
    expect(everything).not.toContain(key)
    expect(everything).not.toContain('4f9a8b7c6d5e')
    expect(everything).not.toContain(odd)
    expect(errors[0].attempts[0].error.message).toContain('Incorrect API key provided: [redacted]')
    expect(mock.calls.map((call) => call.model)).toEqual(['a', 'b'])
  })

  test('a success reports its routing too', async () => {
    const config = await setup({ groups: { g: group(['a']) } })
    const result = await routerFor(config, mockProvider({ a: () => textResult('hi') })).generate('g', prompt)
    expect(result.routing).toEqual({
      instance: 'g.e1/mock:a',
      attempts: [{ instance: 'g.e1/mock:a', retry: 0, durationMs: 0 }],
    })
    expect(result.providerMetadata?.llmpool).toMatchObject({ instance: 'g.e1/mock:a', attempts: 1 })
  })
})

describe('Scrubbing', () => {
  test('a key straddling the 500-character bound of a message leaves no part of itself behind', async () => {
    const { scrubMessage } = await import('../src/scrub')
    const key = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    const message = `${'x'.repeat(490)} ${key} and more`
    const scrubbed = scrubMessage(message, [key])
    expect(scrubbed).not.toContain('sk-proj-ABC')
    expect(scrubbed).not.toContain('ABCDEFGH')
    expect(scrubbed.length).toBeLessThanOrEqual(501)
    // A key the instance does not know, cut the same way: the pattern finds it before the cut.
    expect(scrubMessage(`${'y'.repeat(495)} sk-other-ZZZZZZZZZZZZZZZZ`, [])).not.toContain('sk-oth')
  })
})
