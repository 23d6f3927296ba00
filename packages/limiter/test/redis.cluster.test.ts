/**
 * The Redis backend on a three-master Redis Cluster the test starts itself (and kills afterwards): the limiter
 * contract through a `redis+cluster://` URL and through an ioredis `Cluster` the caller passes, each limiter's keys
 * in one slot, wake-ups across processes through cluster pub/sub, and recovery after FLUSHALL on every node.
 */
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CompositeLimiter, connectRedis, type Lease, redisBackend } from '../src/index'
import { describeLimiterContract } from './contract'
import { redisHarness, sleep } from './redis-harness'
import { type RedisClusterProcesses, startRedisCluster } from '@llmpool/testing'
import { uniquePrefix } from './redis-keys'

let cluster: RedisClusterProcesses
let client: Cluster | undefined
const admins: Redis[] = []

beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await client?.quit().catch(() => client?.disconnect())
  for (const admin of admins) admin.disconnect()
  await cluster?.stop()
})

/** A plain connection to each master, for looking at keys and flushing them. */
function nodes(): Redis[] {
  if (admins.length === 0) for (const { host, port } of cluster.nodes) admins.push(new Redis(port, host))
  return admins
}

// Keys go with the cluster, so nothing to clean up.
describeLimiterContract(
  'redis cluster (redis+cluster:// url)',
  redisHarness('cluster-url', (prefix) => redisBackend({ redis: cluster.url, prefix }), undefined),
)

// A client of the caller's, auto-pipelined too.
describeLimiterContract(
  'redis cluster (Cluster client)',
  redisHarness(
    'cluster-client',
    (prefix) =>
      redisBackend({ redis: (client ??= new Cluster(cluster.nodes, { enableAutoPipelining: true })), prefix }),
    undefined,
  ),
)

function granted(result: unknown): Lease {
  expect((result as Lease).granted).toBe(true)
  return result as Lease
}

describe('redis backend on a cluster', () => {
  test('connectRedis() makes a Cluster of a redis+cluster:// URL; a malformed one is a RangeError without the password', async () => {
    const connected = await connectRedis(cluster.url)
    expect((connected as Cluster).isCluster).toBe(true)
    expect(await connected.ping()).toBe('PONG')
    connected.disconnect()
    const standalone = await connectRedis(`redis://127.0.0.1:${cluster.nodes[0]!.port}`, { lazyConnect: true })
    expect((standalone as { isCluster?: boolean }).isCluster).toBeFalsy()
    standalone.disconnect()
    for (const bad of [
      'redis+cluster://',
      'redis+cluster://user:s3cret@host:1,',
      'redis+cluster://user:s3cret@host:1/2',
      'redis+cluster://h:1?tls=true',
    ]) {
      const error = await connectRedis(bad).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(RangeError)
      expect((error as Error).message).not.toContain('s3cret')
    }
  })

  test('every key of a limiter, its queue included, is in one slot; composites take their parts in turn', async () => {
    const prefix = uniquePrefix('cluster-slots')
    const backend = redisBackend({ redis: cluster.url, prefix })
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    const limiters = names.map((name) => backend.create(name, { kind: 'concurrency', limit: 1 }))
    const leases = await Promise.all(limiters.map(async (limiter) => granted(await limiter.tryAcquire())))
    // A waiter puts a place in each limiter's queue.
    const waiting = limiters.map((limiter) => limiter.acquire(1, { deadline: Date.now() + 5000 }))
    await sleep(100)
    const keys = (await Promise.all(nodes().map((node) => node.keys(`{${prefix}:*`)))).flat()
    const slots = new Map<string, Set<number>>()
    for (const key of keys) {
      const tag = key.slice(0, key.indexOf('}') + 1)
      const slot = Number(await nodes()[0]!.cluster('KEYSLOT', key))
      slots.set(tag, (slots.get(tag) ?? new Set()).add(slot))
    }
    expect([...slots.keys()].sort()).toEqual(names.map((name) => `{${prefix}:${name}}`))
    for (const set of slots.values()) expect(set.size).toBe(1)
    // Six limiters over three masters: they are spread, not all in one node.
    expect(new Set([...slots.values()].map((set) => [...set][0])).size).toBeGreaterThan(1)
    expect(keys.filter((key) => key.endsWith(':queue')).length).toBe(names.length)
    for (const lease of leases) lease.release()
    for (const lease of await Promise.all(waiting)) lease.release()
    expect(backend.composite('both', [limiters[0]!, limiters[1]!])).toBeInstanceOf(CompositeLimiter)
    await backend.dispose()
  })

  test('a release in another process wakes a waiter at once, and a newcomer does not jump the queue', async () => {
    const prefix = uniquePrefix('cluster-wake')
    const spec = { kind: 'concurrency', limit: 1 } as const
    const holder = redisBackend({ redis: cluster.url, prefix })
    const waiter = redisBackend({ redis: cluster.url, prefix })
    const newcomer = redisBackend({ redis: cluster.url, prefix })
    const lease = granted(await holder.create('concurrency', spec).tryAcquire())
    const waiting = waiter.create('concurrency', spec).acquire(1, { deadline: Date.now() + 5000 })
    await sleep(300) // the waiter has its place and is subscribed
    expect(await newcomer.create('concurrency', spec).tryAcquire()).toMatchObject({ granted: false, reason: 'queue' })
    const releasedAt = Date.now()
    lease.release()
    ;(await waiting).release()
    // Polls are 100 ms apart; the wake-up comes through the cluster bus within a few ms.
    expect(Date.now() - releasedAt).toBeLessThan(100)
    await Promise.all([holder.dispose(), waiter.dispose(), newcomer.dispose()])
  })

  test('after FLUSHALL on every node, limits start afresh and held permits are relearned at the next renewal', async () => {
    const prefix = uniquePrefix('cluster-flush')
    const backend = redisBackend({ redis: cluster.url, prefix, leaseTtlMs: 300 })
    const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 2 })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 2 })
    granted(await rpm.tryAcquire(2))
    expect((await rpm.tryAcquire()).granted).toBe(false)
    const held = granted(await concurrency.tryAcquire())
    await Promise.all(nodes().map((node) => node.flushall()))
    // The sliding window forgot its admissions (a flush loses them: see docs/limits.md).
    granted(await rpm.tryAcquire())
    // The renewal (every 100 ms) puts the held permit back.
    await sleep(250)
    expect((await concurrency.state()).inFlight).toBe(1)
    granted(await concurrency.tryAcquire())
    expect((await concurrency.tryAcquire()).granted).toBe(false)
    held.release()
    await backend.dispose()
  })
})
