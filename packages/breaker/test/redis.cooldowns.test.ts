/**
 * Cooldowns shared through a real Redis (127.0.0.1:6379, keys under a prefix of this run, deleted afterwards), and
 * through a Redis of the test's own that goes away.
 */
import { randomUUID } from 'node:crypto'
import { createRedisCooldowns, type RedisCooldowns } from '@llmpool/breaker'
import { type RedisServer, startRedisServer } from '@llmpool/testing'
import Redis from 'ioredis'
import { afterAll, describe, expect, test } from 'vitest'
import { describeCooldownSharing, heard, until } from './cooldowns'

const REDIS_URL = 'redis://127.0.0.1:6379'
const keyPrefix = `llmpool-test:cooldowns:${randomUUID()}`
const clients: Redis[] = []

function connection(): Redis {
  const client = new Redis(REDIS_URL)
  clients.push(client)
  return client
}

afterAll(async () => {
  const cleaner = new Redis(REDIS_URL)
  const keys = await cleaner.keys(`{${keyPrefix}*`)
  if (keys.length > 0) await cleaner.del(...keys)
  await cleaner.quit()
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())))
})

describeCooldownSharing('standalone', { url: () => REDIS_URL, connection, keyPrefix })

describe('cooldown sharing: Redis problems', () => {
  test('malformed messages and values are reported and ignored', async () => {
    const errors: Error[] = []
    // A prefix of its own: the other sharings of this file would hear the malformed messages too.
    const prefix = `${keyPrefix}-malformed`
    const sharing = await createRedisCooldowns({
      redis: REDIS_URL,
      keyPrefix: prefix,
      onError: (error) => errors.push(error),
    })
    const cooldowns = heard(sharing)
    const admin = connection()
    await admin.publish(`${prefix}:published`, 'not json')
    await admin.publish(
      `${prefix}:published`,
      JSON.stringify({ v: 1, origin: 'x', instance: 'i', remainingMs: 10, kind: 'nope', reason: '' }),
    )
    await admin.set(`{${prefix}:broken}`, '{"v":2}', 'PX', 10_000)
    expect(await sharing.current(['broken'])).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(cooldowns).toEqual([])
    expect(errors.map((error) => error.message).sort()).toEqual([
      `Ignored a malformed message on ${prefix}:published`,
      `Ignored a malformed message on ${prefix}:published`,
      `Ignored a malformed value at {${prefix}:broken}`,
    ])
    await sharing.dispose()
  })

  test('Redis unreachable: created within syncTimeoutMs; publish, subscribe and current never throw, and report', async () => {
    const errors: Error[] = []
    const started = Date.now()
    const sharing = await createRedisCooldowns({
      redis: 'redis://127.0.0.1:6399',
      keyPrefix,
      syncTimeoutMs: 200,
      onError: (error) => errors.push(error),
    })
    expect(Date.now() - started).toBeLessThan(2000)
    sharing.subscribe(() => {})
    expect(() =>
      sharing.publish({ instance: 'down', remainingMs: 1000, kind: 'rate_limit', reason: '429' }),
    ).not.toThrow()
    expect(await sharing.current(['down'])).toEqual([])
    expect(errors.some((error) => /the cooldown of "down" was not shared/.test(error.message))).toBe(true)
    expect(errors.some((error) => /did not answer within 200 ms|ECONNREFUSED/.test(error.message))).toBe(true)
    await sharing.dispose()
  })

  test("a client of the caller's is never closed; bad options and bad cooldowns are RangeErrors", async () => {
    const client = connection()
    const sharing = await createRedisCooldowns({ redis: client, keyPrefix })
    expect(() => sharing.publish({ instance: '', remainingMs: 1, kind: 'auth', reason: '' })).toThrow(RangeError)
    expect(() => sharing.publish({ instance: 'i', remainingMs: 1, kind: 'teapot' as 'auth', reason: '' })).toThrow(
      RangeError,
    )
    expect(() =>
      sharing.publish({ instance: 'i', remainingMs: Number.POSITIVE_INFINITY, kind: 'auth', reason: '' }),
    ).toThrow(RangeError)
    // An ended cooldown: nothing to share.
    sharing.publish({ instance: `ended-${randomUUID()}`, remainingMs: 0, kind: 'auth', reason: '' })
    await sharing.dispose()
    expect(client.status).toBe('ready')
    await expect(createRedisCooldowns({ redis: 42 as unknown as string })).rejects.toThrow(RangeError)
    await expect(createRedisCooldowns({ redis: REDIS_URL, keyPrefix: '{bad}' })).rejects.toThrow(RangeError)
    await expect(createRedisCooldowns({ redis: REDIS_URL, syncTimeoutMs: 0 })).rejects.toThrow(RangeError)
  })
})

describe('cooldown sharing: reconnection', () => {
  let server: RedisServer
  const sharings: RedisCooldowns[] = []
  afterAll(async () => {
    await Promise.all(sharings.map((sharing) => sharing.dispose()))
    await server?.stop()
  })

  test('a cooldown published while a process was disconnected reaches it when it reconnects', async () => {
    server = await startRedisServer()
    const instance = 'support.primary/openai:gpt-4o'
    const one = await createRedisCooldowns({ redis: server.url, keyPrefix, onError: () => {} })
    const two = await createRedisCooldowns({ redis: server.url, keyPrefix, onError: () => {} })
    sharings.push(one, two)
    const byTwo = heard(two)
    // The instances it routes to, as a router asks at start.
    expect(await two.current([instance])).toEqual([])
    const admin = new Redis(server.url)
    // Drop every subscriber connection; the publish below reaches nobody.
    await admin.client('KILL', 'TYPE', 'pubsub')
    one.publish({ instance, remainingMs: 30_000, kind: 'rate_limit', reason: '429' })
    const cooldown = await until(byTwo, instance, 3000)
    expect(cooldown.kind).toBe('rate_limit')
    expect(cooldown.remainingMs).toBeGreaterThan(27_000)
    expect(cooldown.remainingMs).toBeLessThanOrEqual(30_000)
    admin.disconnect()
  })
})
