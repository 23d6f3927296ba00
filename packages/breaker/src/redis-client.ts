import { MissingPackageError } from '@llmpool/schema'
import { type ClusterNode, parseRedisUrl } from '@llmpool/schema'

/**
 * The part of an ioredis 5 or 6 client that shared breaker state uses. An ioredis `Redis` is one; so is anything with
 * the same methods. Declared here so that this package's types do not need ioredis installed.
 */
export interface RedisClientLike {
  /** Connection status; `'ready'` when commands go through at once. */
  readonly status: string
  /** Sends one command. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>
  /** Subscribes this connection to channels (it then serves only pub/sub). */
  subscribe(...channels: string[]): Promise<unknown>
  /** A new connection with the same options. */
  duplicate(): RedisClientLike
  on(event: string, listener: (...args: any[]) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  /** Closes after pending replies. */
  quit(): Promise<unknown>
  /** Closes at once. */
  disconnect(): void
}

type RedisConstructor = new (url: string, options?: Record<string, unknown>) => RedisClientLike
type ClusterConstructor = new (nodes: ClusterNode[], options?: Record<string, unknown>) => RedisClientLike

/**
 * Opens an ioredis connection to `url`, importing ioredis only now; says what to install when it is missing.
 * `redis+cluster://host:port,host:port,…` (`rediss+cluster://` for TLS) opens a `Cluster` discovered from those
 * nodes; a malformed one is a `RangeError` (without the password).
 */
export async function connectRedis(url: string): Promise<RedisClientLike> {
  const parsed = parseRedisUrl(url)
  let Redis: RedisConstructor
  let Cluster: ClusterConstructor
  try {
    const module = (await import('ioredis')) as unknown as {
      default?: RedisConstructor
      Redis?: RedisConstructor
      Cluster?: ClusterConstructor
    }
    const constructor = module.default ?? module.Redis
    if (typeof constructor !== 'function' || typeof module.Cluster !== 'function')
      throw new TypeError('ioredis exports no Redis or Cluster class')
    Redis = constructor
    Cluster = module.Cluster
  } catch (error) {
    throw new MissingPackageError({
      feature: 'sharing breaker state through Redis',
      packageName: 'ioredis',
      alternative: 'version 5 or 6; or pass your own ioredis client as `redis`',
      cause: error,
    })
  }
  if (!parsed.cluster) return new Redis(url, { lazyConnect: false })
  const { nodes, username, password, tls } = parsed
  return new Cluster(nodes, {
    lazyConnect: false,
    redisOptions: {
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls ? { tls: {} } : {}),
    },
  })
}
