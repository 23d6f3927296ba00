/** `connectRedis()` and the backend read `redis+cluster://` URLs. No Redis needed: the clients connect lazily. */
import type { Cluster } from 'ioredis'
import { describe, expect, test } from 'vitest'
import { CompositeLimiter, connectRedis, redisBackend } from '../src/index'

describe('Redis URLs', () => {
  test('redis+cluster://: seed nodes (default port 6379, IPv6 in brackets), percent-decoded credentials for every node', async () => {
    const client = (await connectRedis('redis+cluster://alice:p%40ss@10.0.0.1:7000,[::1]:7001,redis-c/', {
      lazyConnect: true,
      keyPrefix: 'k:',
      commandTimeout: 300,
    })) as Cluster
    expect(client.isCluster).toBe(true)
    expect((client as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'redis-c', port: 6379 },
    ])
    expect(client.options.redisOptions).toMatchObject({ username: 'alice', password: 'p@ss', commandTimeout: 300 })
    expect(client.options.redisOptions?.tls).toBeUndefined()
    expect(client.options.keyPrefix).toBe('k:')
    client.disconnect()
  })

  test('rediss+cluster:// turns TLS on; redis:// stays a plain client', async () => {
    const secure = (await connectRedis('rediss+cluster://h1:7000', { lazyConnect: true })) as Cluster
    expect(secure.options.redisOptions?.tls).toEqual({})
    secure.disconnect()
    const plain = await connectRedis('redis://127.0.0.1:6399', { lazyConnect: true })
    expect((plain as { isCluster?: boolean }).isCluster).toBeFalsy()
    plain.disconnect()
  })

  test('a malformed cluster URL is a RangeError that does not show the password', async () => {
    for (const bad of [
      'redis+cluster://',
      'redis+cluster://u:s3cret@',
      'redis+cluster://u:s3cret@h:1,,h:2',
      'redis+cluster://u:s3cret@h:1/3',
      'redis+cluster://h:1?db=0',
      'redis+cluster://h:99999',
    ]) {
      const error = await connectRedis(bad).catch((caught: unknown) => caught)
      expect(error, bad).toBeInstanceOf(RangeError)
      expect((error as Error).message).not.toContain('s3cret')
    }
  })

  test('a backend on a cluster URL knows it at once: composites take their parts in turn', async () => {
    const backend = redisBackend({ redis: 'redis+cluster://127.0.0.1:6399' })
    const parts = [
      backend.create('a', { kind: 'concurrency', limit: 1 }),
      backend.create('b', { kind: 'concurrency', limit: 1 }),
    ]
    expect(backend.composite('both', parts)).toBeInstanceOf(CompositeLimiter)
    await backend.dispose()
  })
})
