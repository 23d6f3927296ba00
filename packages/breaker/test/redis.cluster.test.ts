/**
 * Shared breaker state and shared cooldowns on a three-master Redis Cluster the test starts itself (and kills
 * afterwards): the shared-state and cooldown suites through ioredis `Cluster` clients, and through `redis+cluster://`
 * URLs the group connects to itself.
 */
import { randomUUID } from 'node:crypto'
import { CircuitBreaker, createRedisBreakerGroup, createRedisCooldowns, type RedisClientLike } from '@llmpool/breaker'
import { type RedisClusterProcesses, startRedisCluster } from '@llmpool/testing'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { describeCooldownSharing, heard, until } from './cooldowns'
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
describeCooldownSharing('cluster', {
  url: () => cluster.url,
  connection,
  keyPrefix: `llmpool-test:cooldowns:${randomUUID()}`,
})

describe('cooldowns on a cluster', () => {
  test("each instance's key lives on one node, spread over the masters; a publish through one node is heard through another", async () => {
    const prefix = `llmpool-test:cooldowns:${randomUUID()}`
    const instances = Array.from({ length: 12 }, (_, i) => `group.echelon/provider:model-${i}`)
    const [one, two] = [
      await createRedisCooldowns({ redis: cluster.url, keyPrefix: prefix }),
      await createRedisCooldowns({ redis: connection(), keyPrefix: prefix }),
    ]
    const byTwo = heard(two!)
    for (const instance of instances) one!.publish({ instance, remainingMs: 10_000, kind: 'rate_limit', reason: '429' })
    for (const instance of instances) await until(byTwo, instance)
    const nodes = cluster.nodes.map(({ host, port }) => new Redis(port, host))
    const perNode = await Promise.all(nodes.map((node) => node.keys(`{${prefix}:*`)))
    for (const node of nodes) node.disconnect()
    expect(perNode.flat().sort()).toEqual(instances.map((instance) => `{${prefix}:${instance}}`).sort())
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1)
    expect((await two!.current(instances)).length).toBe(instances.length)
    await Promise.all([one!.dispose(), two!.dispose()])
  })
})

describe('redis+cluster:// URLs', () => {
  test('groups made from cluster URLs share openings and closings', async () => {
    const name = `provider-${randomUUID()}`
    const [one, two] = await Promise.all([
      createRedisBreakerGroup({ redis: cluster.url, keyPrefix }),
      createRedisBreakerGroup({ redis: cluster.url, keyPrefix }),
    ])
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
