/**
 * A Redis of the test's own goes away and comes back: killed (connections drop) or hung (SIGSTOP: nothing answers).
 * Meanwhile fail-closed limiters reject fast with a LimiterUnavailableError that suggests when to retry, and
 * fallback-memory limiters serve locally; within 1 s of Redis returning, both share limits through Redis again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Limiter,
  LimiterUnavailableError,
  type RedisBackend,
  type RedisBackendEvent,
  redisBackend,
} from '../src/index'
import { type RedisServer, startRedisServer } from '@llmpool/testing'
import { uniquePrefix } from './redis-keys'

const COMMAND_TIMEOUT_MS = 300
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

async function outcome(limiter: Limiter): Promise<{ value: unknown; ms: number }> {
  const started = Date.now()
  const value = await Promise.resolve(limiter.tryAcquire()).catch((error: unknown) => error)
  return { value, ms: Date.now() - started }
}

/**
 * Calls tryAcquire every 10 ms until `done()` (a grant of a fail-closed limiter: Redis answered; the `recovered`
 * event of a fallback one, whose grants come from memory meanwhile); resolves with how long that took.
 */
async function backWithin(
  limiter: Limiter,
  done: (value: unknown) => boolean,
  since: number,
  timeoutMs: number,
): Promise<number> {
  for (;;) {
    const { value } = await outcome(limiter)
    if (done(value)) return Date.now() - since
    if (Date.now() - since > timeoutMs) throw new Error(`not back through Redis within ${timeoutMs} ms`)
    await sleep(10)
  }
}

const granted = (value: unknown) => (value as { granted?: boolean }).granted === true

function backends(
  prefix: string,
  events: RedisBackendEvent[],
  fallbackEvents: RedisBackendEvent[] = [],
): { closed: RedisBackend; fallback: RedisBackend } {
  return {
    closed: redisBackend({
      redis: server.url,
      prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      onEvent: (event) => events.push(event),
    }),
    fallback: redisBackend({
      redis: server.url,
      prefix: `${prefix}-fallback`,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      onUnavailable: 'fallback-memory',
      onEvent: (event) => fallbackEvents.push(event),
    }),
  }
}

function expectUnavailable(value: unknown): LimiterUnavailableError {
  expect(LimiterUnavailableError.isInstance(value)).toBe(true)
  const error = value as LimiterUnavailableError
  expect(error.code).toBe('limiter_unavailable')
  expect(error.retryAfterMs).toBeGreaterThan(0)
  expect(error.retryAfterMs).toBeLessThanOrEqual(1000)
  return error
}

describe('redis backend: Redis goes away and comes back', () => {
  test('killed: fail-closed rejects at once with retryAfterMs, fallback serves locally, both back within 1 s of the restart', async () => {
    const events: RedisBackendEvent[] = []
    const fallbackEvents: RedisBackendEvent[] = []
    const { closed, fallback } = backends(uniquePrefix('outage-kill'), events, fallbackEvents)
    const rpm = closed.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 1000 })
    const concurrency = fallback.create('concurrency', { kind: 'concurrency', limit: 2 })
    expect((await rpm.tryAcquire()).granted).toBe(true)
    const before = await concurrency.tryAcquire()
    expect(before.granted).toBe(true)
    if (before.granted) before.release()

    await server.kill()
    const timings: number[] = []
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await outcome(rpm)
      expectUnavailable(value)
      timings.push(ms)
    }
    const waited = await rpm.acquire(1, { deadline: Date.now() + 5000 }).catch((error: unknown) => error)
    expectUnavailable(waited)
    // Fast: the first call finds the connection lost, the others do not even try.
    expect(Math.max(...timings)).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS)
    // The fallback limits this process alone, with the same spec.
    expect((await concurrency.tryAcquire()).granted).toBe(true)
    expect((await concurrency.tryAcquire()).granted).toBe(true)
    expect(await concurrency.tryAcquire()).toMatchObject({ granted: false, reason: 'concurrency' })

    await sleep(3000) // a longer outage: reconnection attempts have backed off
    await server.restart()
    const restartedAt = Date.now()
    const [closedBack, fallbackBack] = await Promise.all([
      backWithin(rpm, granted, restartedAt, 3000),
      backWithin(concurrency, () => fallbackEvents.some((event) => event.type === 'recovered'), restartedAt, 3000),
    ])
    console.log(
      `Redis killed: rejections took ${timings.join(', ')} ms (command timeout ${COMMAND_TIMEOUT_MS} ms); ` +
        `after the restart, granted through Redis again in ${closedBack} ms (fail-closed), ${fallbackBack} ms (fallback-memory)`,
    )
    expect(closedBack).toBeLessThanOrEqual(1000)
    expect(fallbackBack).toBeLessThanOrEqual(1000)
    expect(fallbackEvents.map((event) => event.type)).toEqual(['unavailable', 'recovered'])
    expect(events.map((event) => event.type)).toEqual(['unavailable', 'recovered'])
    await Promise.all([closed.dispose(), fallback.dispose()])
  })

  test('hung (SIGSTOP): the first call fails within commandTimeoutMs, the next ones at once; back within 1 s of SIGCONT', async () => {
    await server.restart() // a fresh server, whatever the test before did
    const events: RedisBackendEvent[] = []
    const { closed, fallback } = backends(uniquePrefix('outage-hang'), events)
    const rpm = closed.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 1000 })
    const bucket = fallback.create('bucket', { kind: 'token_bucket', bucketSize: 3, refillPerSecond: 0.001 })
    expect((await rpm.tryAcquire()).granted).toBe(true)
    expect((await bucket.tryAcquire()).granted).toBe(true)

    server.pause()
    try {
      const first = await outcome(rpm)
      expectUnavailable(first.value)
      expect(first.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 20)
      expect(first.ms).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 200)
      const next = await outcome(rpm)
      expectUnavailable(next.value)
      expect(next.ms).toBeLessThan(50)
      // The fallback answers after one command timeout, then at once, from memory (a fresh bucket of 3).
      const fallbackFirst = await outcome(bucket)
      expect(fallbackFirst.value).toMatchObject({ granted: true })
      expect(fallbackFirst.ms).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 200)
      expect((await outcome(bucket)).value).toMatchObject({ granted: true })
      console.log(
        `Redis hung: first rejection after ${first.ms} ms, the next after ${next.ms} ms; fallback answered after ${fallbackFirst.ms} ms`,
      )
    } finally {
      server.resume()
    }
    const resumedAt = Date.now()
    const back = await backWithin(rpm, granted, resumedAt, 3000)
    console.log(`after SIGCONT, granted through Redis again in ${back} ms`)
    expect(back).toBeLessThanOrEqual(1000)
    expect(events.map((event) => event.type)).toEqual(['unavailable', 'recovered'])
    await Promise.all([closed.dispose(), fallback.dispose()])
  })
})
