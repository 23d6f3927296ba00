import type { Clock } from '@llmpool/schema'
import type { RedisClientLike } from './redis-client'
import { waitAtMost } from './wait-at-most'

/** Closes a connection: QUIT (after pending replies) when ready, within `timeoutMs`; otherwise, or then, at once. */
export async function closeClient(client: RedisClientLike, timeoutMs: number, clock: Clock): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  await waitAtMost(
    client.quit().catch(() => undefined),
    timeoutMs,
    clock,
  )
  // quit() timed out: close at once. (`status` changed meanwhile; TypeScript still narrows it to 'ready'.)
  if ((client.status as string) !== 'end') client.disconnect()
}
