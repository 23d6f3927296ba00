import { MissingPackageError } from '@llmpool/schema'
import { Redis } from 'ioredis'
import { describe, expect, test, vi } from 'vitest'
import { LimiterUnavailableError, type RedisBackendEvent, redisBackend } from '../src/index'

/** Nothing listens here. */
const DOWN_URL = 'redis://127.0.0.1:6399'

describe('redis backend: Redis unreachable', () => {
  test('fail-closed: tryAcquire, acquire and state reject with LimiterUnavailableError, quickly', async () => {
    const events: RedisBackendEvent[] = []
    const backend = redisBackend({ redis: DOWN_URL, onEvent: (event) => events.push(event) })
    const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 10 })
    const started = Date.now()
    const first = await Promise.resolve(limiter.tryAcquire()).catch((error: unknown) => error)
    expect(LimiterUnavailableError.isInstance(first)).toBe(true)
    expect((first as LimiterUnavailableError).code).toBe('limiter_unavailable')
    const waited = await limiter.acquire(1, { deadline: Date.now() + 10_000 }).catch((error: unknown) => error)
    expect(LimiterUnavailableError.isInstance(waited)).toBe(true)
    expect(
      LimiterUnavailableError.isInstance(await Promise.resolve(limiter.state()).catch((error: unknown) => error)),
    ).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(events.filter((event) => event.type === 'unavailable')).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'unavailable', policy: 'fail-closed' })
    await backend.dispose()
  })

  test('fail-closed with a client the caller passed: rejects within the command timeout', async () => {
    const client = new Redis(DOWN_URL, { lazyConnect: true, retryStrategy: () => 200 })
    client.on('error', () => {})
    const backend = redisBackend({ redis: client, commandTimeoutMs: 300 })
    const limiter = backend.create('concurrency', { kind: 'concurrency', limit: 2 })
    const started = Date.now()
    for (let i = 0; i < 3; i++) {
      const error = await Promise.resolve(limiter.tryAcquire()).catch((caught: unknown) => caught)
      expect(LimiterUnavailableError.isInstance(error)).toBe(true)
    }
    expect(Date.now() - started).toBeLessThan(2000)
    await backend.dispose()
    client.disconnect()
  })

  test('fallback-memory: limits locally and warns once', async () => {
    const events: RedisBackendEvent[] = []
    const backend = redisBackend({ redis: DOWN_URL, onUnavailable: 'fallback-memory' })
    const subscription = backend.onEvent((event) => events.push(event))
    const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 3 })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 1 })
    const started = Date.now()
    for (let i = 0; i < 3; i++) expect((await rpm.tryAcquire()).granted).toBe(true)
    expect(await rpm.tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
    expect(await rpm.state()).toMatchObject({ kind: 'sliding_window', limit: 3, available: 0 })

    const both = backend.composite('instance', [
      backend.create('rpm2', { kind: 'sliding_window', windowMs: 60_000, limit: 5 }),
      concurrency,
    ])
    const held = await both.acquire()
    expect((await concurrency.tryAcquire()).granted).toBe(false)
    const waiting = concurrency.acquire(1, { deadline: Date.now() + 2000 })
    held.release()
    const lease = await waiting
    lease.release()
    expect(Date.now() - started).toBeLessThan(2000)

    const warnings = events.filter((event) => event.type === 'unavailable')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ type: 'unavailable', policy: 'fallback-memory' })
    expect((warnings[0] as { message: string }).message).toMatch(/fall back to memory/)
    subscription.dispose()
    await backend.dispose()
  })

  test('fallback-memory: reconfigure applies to the memory limiter standing in', async () => {
    const backend = redisBackend({ redis: DOWN_URL, onUnavailable: 'fallback-memory' })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 1 })
    const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 5 })
    const both = backend.composite('instance', [rpm, concurrency])
    expect((await both.tryAcquire()).granted).toBe(true)
    expect((await both.tryAcquire()).granted).toBe(false)
    expect(
      both.reconfigure!([
        { kind: 'sliding_window', windowMs: 60_000, limit: 2 },
        { kind: 'concurrency', limit: 3 },
      ]),
    ).toBe(true)
    expect((await both.tryAcquire()).granted).toBe(true)
    // The rpm part, now 2, is full.
    expect(await both.tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
    expect(await concurrency.state()).toMatchObject({ limit: 3, inFlight: 2 })
    await backend.dispose()
  })

  test('a URL backend without ioredis installed says what to install', async () => {
    vi.doMock('ioredis', () => {
      throw new Error("Cannot find package 'ioredis'")
    })
    try {
      const backend = redisBackend({ redis: DOWN_URL })
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: 1000, limit: 1 })
      const error = await Promise.resolve(limiter.tryAcquire()).catch((caught: unknown) => caught)
      // A missing dependency is a setup error, not an outage: no LimiterUnavailableError, whatever the policy.
      expect(LimiterUnavailableError.isInstance(error)).toBe(false)
      expect((error as Error).message).toMatch(/npm install ioredis/)
      expect(MissingPackageError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ code: 'missing_optional_package', packageName: 'ioredis' })
      await backend.dispose()
    } finally {
      vi.doUnmock('ioredis')
    }
  })
})
