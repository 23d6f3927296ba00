import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import type { RouterEvent } from '../src/index'
import {
  disposeRouters,
  hang,
  httpError,
  mockProvider,
  prompt,
  rejection,
  routerFor,
  sequence,
  setup,
  textResult,
} from './helpers'

afterEach(disposeRouters)

/** Events without their time and request id, for comparing sequences. */
function strip(events: RouterEvent[]) {
  return events.map((event) => {
    const { at: _at, ...rest } = event as RouterEvent & { requestId?: number }
    return rest
  })
}

describe('Events', { timeout: 5000 }, () => {
  test('a request with a retry, a breaker trip and a fallback emits its events in order, with their fields', async () => {
    const config = await setup({
      groups: {
        g: `
[task_group.circuit_breaker]
failure_threshold = 2
recovery_time = 60
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 1
`,
      },
    })
    const clock = new FakeClock()
    const mock = mockProvider({
      a: sequence(httpError(503, 'unavailable'), httpError(503, 'unavailable')),
      b: () => textResult('b'),
    })
    const router = routerFor(config, mock, { clock, random: () => 1, retryOn: ['server_error'] })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const start = clock.now()
    const request = router.generate('g', prompt)
    await clock.advance(250)
    await request
    const a = 'g.e1/mock:a'
    const b = 'g.e1/mock:b'
    const failure = { kind: 'server_error', statusCode: 503, message: 'unavailable' }
    expect(strip(events)).toEqual([
      { type: 'request_start', requestId: 1, target: 'g', entry: 'g', stream: false },
      { type: 'attempt_start', requestId: 1, target: 'g', instance: a, retry: 0 },
      expect.objectContaining({
        type: 'attempt_end',
        requestId: 1,
        target: 'g',
        instance: a,
        retry: 0,
        ok: false,
        durationMs: 0,
        error: failure,
      }),
      { type: 'retry', requestId: 1, instance: a, retry: 1, delayMs: 250, kind: 'server_error' },
      { type: 'attempt_start', requestId: 1, target: 'g', instance: a, retry: 1 },
      // The breaker opens when the failure is reported, just before the attempt is recorded.
      { type: 'breaker_change', instance: a, from: 'closed', to: 'open', reason: 'failure_threshold' },
      expect.objectContaining({ type: 'attempt_end', instance: a, retry: 1, ok: false, error: failure }),
      { type: 'fallback', requestId: 1, target: 'g', from: a, kind: 'server_error' },
      { type: 'attempt_start', requestId: 1, target: 'g', instance: b, retry: 0 },
      expect.objectContaining({
        type: 'attempt_end',
        requestId: 1,
        target: 'g',
        instance: b,
        retry: 0,
        ok: true,
        inputTokens: 3,
        outputTokens: 5,
      }),
      {
        type: 'request_end',
        requestId: 1,
        target: 'g',
        entry: 'g',
        durationMs: 250,
        ok: true,
        instance: b,
        attempts: 3,
      },
    ])
    expect(events.map((event) => event.at - start)).toEqual([0, 0, 0, 250, 250, 250, 250, 250, 250, 250, 250])
  })

  test('rate_limited (waiting for capacity) and health_change events; a failed request ends with its error code', async () => {
    const config = await setup({
      groups: {
        g: `
[task_group.circuit_breaker]
failure_threshold = 100
[task_group.fallback]
max_attempts = 1
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a"]
max_retries = 0
concurrency_limit = 1
`,
      },
      pools: { p: 'task_groups = ["g"]\n[pool.health_check]\nfailure_threshold = 1\nrecovery_time = 30' },
    })
    const clock = new FakeClock()
    const mock = mockProvider({ a: sequence(hang, httpError(500, 'boom')) })
    const router = routerFor(config, mock, { clock })
    const events: RouterEvent[] = []
    router.on((event) => events.push(event))
    const first = rejection(router.generate('p', prompt, { timeoutMs: 1000 }))
    await clock.advance(0)
    const second = rejection(router.generate('p', prompt, { timeoutMs: 5000 }))
    await clock.advance(0)
    expect(events.find((event) => event.type === 'rate_limited')).toMatchObject({
      type: 'rate_limited',
      requestId: 2,
      target: 'p',
      waiting: true,
    })
    await clock.advance(1000)
    expect(await first).toMatchObject({ code: 'request_timeout' })
    expect(await second).toMatchObject({ code: 'all_attempts_failed' })
    const tail = strip(events).filter((event) => ['health_change', 'request_end'].includes(event.type))
    expect(tail).toEqual([
      {
        type: 'request_end',
        requestId: 1,
        target: 'p',
        entry: 'p',
        durationMs: 1000,
        ok: false,
        attempts: 1,
        error: 'request_timeout',
      },
      { type: 'health_change', instance: 'g.e1/mock:a', healthy: false, reason: 'server_error' },
      {
        type: 'request_end',
        requestId: 2,
        target: 'p',
        entry: 'p',
        durationMs: 1000,
        ok: false,
        attempts: 1,
        error: 'all_attempts_failed',
      },
    ])
    // A timeout is the request's own deadline passing, not the upstream's failure: the first call counts nothing.
    expect(
      events
        .filter((event) => event.type === 'attempt_end')
        .map((event) => (event as { error?: { kind: string } }).error?.kind),
    ).toEqual(['timeout', 'server_error'])
  })
})
