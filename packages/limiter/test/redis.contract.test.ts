import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { redisBackend } from '../src/index'
import { describeLimiterContract } from './contract'
import { redisHarness } from './redis-harness'
import { REDIS_URL } from './redis-keys'

// The backend opens (and closes) its own connection from a URL.
describeLimiterContract(
  'redis (url)',
  redisHarness('contract-url', (prefix) => redisBackend({ redis: REDIS_URL, prefix })),
)

// The caller passes a client and keeps it.
const client = new Redis(REDIS_URL)
afterAll(() => client.quit())
describeLimiterContract(
  'redis (client)',
  redisHarness('contract-client', (prefix) => redisBackend({ redis: client, prefix })),
)
