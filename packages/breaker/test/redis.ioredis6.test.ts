/**
 * ioredis 6, which the peer range accepts besides 5 (installed here as `ioredis-6`): shared breaker state and shared
 * cooldowns again, with clients of it, and with URLs, for which the package imports `ioredis` itself (resolved to
 * ioredis 6 in this file). ioredis 6 speaks RESP3 by default: replies and messages must read the same.
 */
import { randomUUID } from 'node:crypto'
import { createRedisBreakerGroup } from '@llmpool/breaker'
import { Redis } from 'ioredis-6'
import { afterAll, expect, test, vi } from 'vitest'
import { describeCooldownSharing } from './cooldowns'
import { describeSharedState } from './shared-state'

vi.mock('ioredis', async () => await import('ioredis-6'))

const REDIS_URL = 'redis://127.0.0.1:6379'
const keyPrefix = `llmpool-test:ioredis6:${randomUUID()}`
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

test('the package imports ioredis 6 here', async () => {
  expect((await import('ioredis')).Redis).toBe(Redis)
  const group = await createRedisBreakerGroup({ redis: REDIS_URL, keyPrefix: `${keyPrefix}-import` })
  await group.dispose()
})

describeSharedState('standalone, ioredis 6', { url: () => REDIS_URL, connection, keyPrefix })
describeCooldownSharing('standalone, ioredis 6', {
  url: () => REDIS_URL,
  connection,
  keyPrefix: `${keyPrefix}-cooldowns`,
})
