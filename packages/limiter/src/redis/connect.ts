import type { ClusterOptions, RedisOptions } from 'ioredis'
import { importOptional, parseRedisUrl } from '@llmpool/schema'
import type { RedisClientLike, RedisConnectOptions } from './client'

/**
 * Opens an ioredis connection from a URL: `redis://…` / `rediss://…` give a `Redis`; `redis+cluster://host:port,
 * host:port,…` / `rediss+cluster://…` give a `Cluster` discovered from those nodes (credentials and TLS apply to
 * every node). ioredis is imported only now (an optional peer dependency); without it, this rejects with a message
 * that says what to install. `options` are ioredis `RedisOptions`; for a cluster, the connection-level ones
 * (`enableOfflineQueue`, `enableAutoPipelining`, `lazyConnect`, `keyPrefix`, `retryStrategy` as
 * `clusterRetryStrategy`) apply to the cluster and the others to each node. A malformed cluster URL rejects with a
 * `RangeError` (without the password).
 */
export async function connectRedis(url: string, options: RedisConnectOptions = {}): Promise<RedisClientLike> {
  if (typeof url !== 'string') throw new TypeError(`connectRedis() needs a Redis URL (got ${typeof url})`)
  const parsed = parseRedisUrl(url)
  const module = await importOptional(
    'ioredis',
    'a Redis URL in @llmpool/limiter',
    () => import('ioredis'),
    'or pass your own ioredis client as `redis`',
  )
  if (!parsed.cluster) {
    const RedisClient = module.Redis ?? module.default
    return new RedisClient(url, options as RedisOptions)
  }
  const {
    enableOfflineQueue,
    enableAutoPipelining,
    lazyConnect,
    keyPrefix,
    retryStrategy,
    port,
    host,
    path,
    sentinels,
    readOnly,
    ...node
  } = options as RedisOptions
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...node,
      ...(parsed.username === undefined ? {} : { username: parsed.username }),
      ...(parsed.password === undefined ? {} : { password: parsed.password }),
      ...(parsed.tls ? { tls: { ...node.tls } } : {}),
    },
  }
  if (enableOfflineQueue !== undefined) clusterOptions.enableOfflineQueue = enableOfflineQueue
  if (enableAutoPipelining !== undefined) clusterOptions.enableAutoPipelining = enableAutoPipelining
  if (lazyConnect !== undefined) clusterOptions.lazyConnect = lazyConnect
  if (keyPrefix !== undefined) clusterOptions.keyPrefix = keyPrefix
  if (retryStrategy) clusterOptions.clusterRetryStrategy = (times) => retryStrategy(times)
  return new module.Cluster(parsed.nodes, clusterOptions)
}
