import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The machine's Redis, shared by the Redis tests (no persistence). */
export const REDIS_URL = process.env.LLMPOOL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test run uses. */
export function uniquePrefix(label: string): string {
  return `llmpool-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`
}

/** Deletes every key of a prefix (limiter keys are `{prefix:name}:…`, the tests' own counters `prefix:…`). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    for (const pattern of [`{${prefix}*`, `${prefix}*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await client.del(...keys)
      } while (cursor !== '0')
    }
  } finally {
    client.disconnect()
  }
}
