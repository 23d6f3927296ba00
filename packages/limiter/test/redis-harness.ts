import { afterAll } from 'vitest'
import type { LimiterBackend } from '../src/index'
import type { ContractHarness } from './contract'
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-keys'

/** Base window: real time, so long enough for a test's steps (a few round trips each) to take much less. */
const UNIT = 400

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Fixed windows are aligned on Redis time (`floor(now / windowMs)`), so a test that expects one window must not
 * straddle a boundary: each test starts in the first quarter of a `UNIT`. Redis runs on this machine, so its TIME
 * and Date.now() read the same clock.
 */
async function startOfWindow(): Promise<void> {
  const phase = Date.now() % UNIT
  if (phase > UNIT / 4) await sleep(UNIT - phase + 5)
}

/**
 * The contract harness for a Redis backend in real time. Each test gets a backend with a key prefix of its own;
 * the keys are deleted after the file, from `cleanupUrl` (none for a Redis the test throws away).
 */
export function redisHarness(
  label: string,
  makeBackend: (prefix: string) => LimiterBackend,
  cleanupUrl: string | undefined = REDIS_URL,
): ContractHarness {
  const prefix = uniquePrefix(label)
  let run = 0
  if (cleanupUrl !== undefined) afterAll(() => deleteKeys(cleanupUrl, prefix))
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
