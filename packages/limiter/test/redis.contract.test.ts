import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { type LimiterBackend, redisBackend } from '../src/index'
import { describeLimiterContract } from './contract'
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-keys'

/** Base window: real time, so long enough for a test's steps (a few round trips each) to take much less. */
const UNIT = 400

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Fixed windows are aligned on Redis time (`floor(now / windowMs)`), so a test that expects one window must not
 * straddle a boundary: each test starts in the first quarter of a `UNIT`. Redis runs on this machine, so its TIME
 * and Date.now() read the same clock.
 */
async function startOfWindow(): Promise<void> {
  const phase = Date.now() % UNIT
  if (phase > UNIT / 4) await sleep(UNIT - phase + 5)
}

function harness(label: string, makeBackend: (prefix: string) => LimiterBackend) {
  const prefix = uniquePrefix(label)
  let run = 0
  afterAll(() => deleteKeys(REDIS_URL, prefix))
  return {
    backend: async () => {
      await startOfWindow()
      return makeBackend(`${prefix}-${++run}`)
    },
    advance: sleep,
    now: () => Date.now(),
    unit: UNIT,
  }
}

// The backend opens (and closes) its own connection from a URL.
describeLimiterContract(
  'redis (url)',
  harness('contract-url', (prefix) => redisBackend({ redis: REDIS_URL, prefix })),
)

// The caller passes a client and keeps it.
const client = new Redis(REDIS_URL)
afterAll(() => client.quit())
describeLimiterContract(
  'redis (client)',
  harness('contract-client', (prefix) => redisBackend({ redis: client, prefix })),
)
