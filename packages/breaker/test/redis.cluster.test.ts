/**
 * Shared breaker state on a three-master Redis Cluster the test starts itself (and kills afterwards): the shared-state
 * suite through ioredis `Cluster` clients, and through `redis+cluster://` URLs the group connects to itself.
 */
import { randomUUID } from 'node:crypto'
import { CircuitBreaker, createRedisBreakerGroup, type RedisClientLike } from '@llmpool/breaker'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type RedisClusterProcesses, startRedisCluster } from '@llmpool/testing'
import { describeSharedState, nextChange, trip } from './shared-state'

let cluster: RedisClusterProcesses
const clients: Cluster[] = []
const keyPrefix = `llmpool-test:breaker:${randomUUID()}`

beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())))
  await cluster?.stop()
})

function connection(): RedisClientLike {
  const client = new Cluster(cluster.nodes)
  clients.push(client)
  return client
}

describeSharedState('cluster', { url: () => cluster.url, connection, keyPrefix })

describe('redis+cluster:// URLs', () => {
  test('groups made from cluster URLs share openings and closings', async () => {
    const name = `provider-${randomUUID()}`
    const [one, two] = await Promise.all([createRedisBreakerGroup({ redis: cluster.url, keyPrefix }), createRedisBreakerGroup({ redis: cluster.url, keyPrefix })])
    const a = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000 })
    const b = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000 })
    await one!.add(a)
    await two!.add(b)
    const opened = nextChange(b, 'open')
    trip(a)
    expect((await opened).reason).toBe('remote')
    await Promise.all([one!.dispose(), two!.dispose()])
  })

  test('a malformed cluster URL is a RangeError that does not show the password', async () => {
    for (const bad of ['redis+cluster://', 'redis+cluster://u:s3cret@h:1,,h:2', 'redis+cluster://u:s3cret@h:1/2']) {
      const error = await createRedisBreakerGroup({ redis: bad }).catch((caught: unknown) => caught)
      expect(error, bad).toBeInstanceOf(RangeError)
      expect((error as Error).message).not.toContain('s3cret')
    }
  })
})
