/**
 * Shared breaker state over a real Redis (127.0.0.1:6379). Each breaker gets its own ioredis connection, as separate
 * processes would. Keys live under a prefix unique to this run and are deleted afterwards.
 */
import { randomUUID } from 'node:crypto'
import { CircuitBreaker, createRedisBreakerGroup, shareBreakerState } from '@llmpool/breaker'
import Redis from 'ioredis'
import { afterAll, describe, expect, test } from 'vitest'
import { ManualClock } from './helpers'
import { describeSharedState, trip } from './shared-state'

const REDIS_URL = 'redis://127.0.0.1:6379'
const keyPrefix = `llmpool-test:breaker:${randomUUID()}`
const clients: Redis[] = []

function connection(): Redis {
  const client = new Redis(REDIS_URL)
  clients.push(client)
  return client
}

afterAll(async () => {
  const cleaner = new Redis(REDIS_URL)
  const keys = await cleaner.keys(`{${keyPrefix}:*`)
  if (keys.length > 0) await cleaner.del(...keys)
  await cleaner.quit()
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())))
})

describeSharedState('standalone', { url: () => REDIS_URL, connection, keyPrefix })

describe('Redis unreachable', () => {
  test('no crash; errors are reported; the breaker works locally', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ name: 'down', failureThreshold: 2, recoveryTimeMs: 1000, clock })
    const heard: Error[] = []
    const started = Date.now()
    const shared = await shareBreakerState(breaker, {
      redis: 'redis://127.0.0.1:6399',
      keyPrefix,
      syncTimeoutMs: 200,
      onError: (error) => heard.push(error),
    })
    expect(Date.now() - started).toBeLessThan(2000)
    trip(breaker)
    expect(breaker.state).toBe('open')
    clock.advance(1000)
    // Half-open: it cannot ask the other processes, so it runs the trial itself, at once, and says so.
    const permit = breaker.tryAcquire()
    expect(permit?.trial).toBe(true)
    expect(heard.some((error) => /runs its half-open trials without the other processes/.test(error.message))).toBe(
      true,
    )
    permit!.success()
    expect(breaker.state).toBe('closed')
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok')
    expect(heard.some((error) => /not connected|did not answer|ECONNREFUSED/.test(error.message))).toBe(true)
    await shared.dispose()
  })

  test('with a client the user passes, too; the group never closes it', async () => {
    const client = new Redis(6399, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 200,
      maxRetriesPerRequest: 1,
    })
    client.on('error', () => {})
    const breaker = new CircuitBreaker({ name: 'down-client', failureThreshold: 2, recoveryTimeMs: 1000 })
    const shared = await shareBreakerState(breaker, { redis: client, keyPrefix, syncTimeoutMs: 200, onError: () => {} })
    trip(breaker)
    expect(breaker.state).toBe('open')
    await shared.dispose()
    expect(client.status).not.toBe('end')
    client.disconnect()
  })
})

describe('without ioredis for a URL', () => {
  test('a bad redis option is a RangeError', async () => {
    await expect(createRedisBreakerGroup({ redis: 42 as unknown as string })).rejects.toThrow(RangeError)
    await expect(createRedisBreakerGroup({ redis: REDIS_URL, keyPrefix: '{bad}' })).rejects.toThrow(RangeError)
    await expect(createRedisBreakerGroup({ redis: REDIS_URL, syncTimeoutMs: 0 })).rejects.toThrow(RangeError)
  })
})
