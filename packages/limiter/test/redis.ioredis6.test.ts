/**
 * ioredis 6, which the peer range accepts besides 5 (installed here as `ioredis-6`): the contract again, with a
 * client of it that the caller passes, and with a URL, for which the backend imports `ioredis` itself (resolved to
 * ioredis 6 in this file). ioredis 6 speaks RESP3 by default: the scripts' replies must read the same.
 */
import { Redis } from 'ioredis-6'
import { afterAll, expect, test, vi } from 'vitest'
import { connectRedis, redisBackend } from '../src/index'
import { describeLimiterContract } from './contract'
import { redisHarness } from './redis-harness'
import { REDIS_URL } from './redis-keys'

vi.mock('ioredis', async () => await import('ioredis-6'))

test('a URL connects with ioredis 6 here', async () => {
  const client = await connectRedis(REDIS_URL, { lazyConnect: true })
  expect(client).toBeInstanceOf(Redis)
  client.disconnect()
})

describeLimiterContract(
  'redis, ioredis 6 (url)',
  redisHarness('contract-url-6', (prefix) => redisBackend({ redis: REDIS_URL, prefix })),
)

const client = new Redis(REDIS_URL)
afterAll(() => client.quit())
describeLimiterContract(
  'redis, ioredis 6 (client)',
  redisHarness('contract-client-6', (prefix) => redisBackend({ redis: client, prefix })),
)
