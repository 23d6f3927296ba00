import type { Clock } from '@llmpool/schema'
import type { RedisClientLike } from './client'

/** What the Redis backend does while it cannot reach Redis. */
export type UnavailablePolicy = 'fail-closed' | 'fallback-memory'

export interface RedisBackendOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`), which the caller keeps owning, or a URL — `redis://…`, `rediss://…`, or
   * `redis+cluster://host:port,host:port,…` (`rediss+cluster://` for TLS) for a Redis Cluster: the backend then
   * imports ioredis, connects (see `connectRedis`), and closes the connection on `dispose()`.
   */
  redis: RedisClientLike | string
  /** First part of every key and hash tag (`{prefix:name}:…`); processes share limits of the same prefix and name. Default `llmpool`. */
  prefix?: string
  /**
   * How long a concurrency permit outlives the process holding it (ms): this process renews its leases every third
   * of it, so the permits of a process killed with `kill -9` come back within this time, and waiters in other
   * processes get them as soon as they are reclaimed. Default 10 000.
   */
  leaseTtlMs?: number
  /**
   * Redis unreachable (connection refused or lost, command timeout): `fail-closed` rejects with
   * `LimiterUnavailableError` (the default); `fallback-memory` limits this process alone with a memory limiter of
   * the same spec until Redis answers again.
   */
  onUnavailable?: UnavailablePolicy
  /** How long a Redis call may take before Redis counts as unreachable (ms). Default 1000. */
  commandTimeoutMs?: number
  /** Time source for waiting, deadlines and timers. Limits themselves are timed by Redis (`TIME`). */
  clock?: Clock
  /** Called on each event: Redis became unreachable (once per outage), or answers again. */
  onEvent?: (event: RedisBackendEvent) => void
}

/** Redis became unreachable: the start of an outage. Emitted once per outage, whatever the policy. */
export interface RedisUnavailableEvent {
  type: 'unavailable'
  /** What the backend does until Redis answers again. */
  policy: UnavailablePolicy
  /** A warning for a log line, without secrets. */
  message: string
  /** The error of the call that failed. */
  cause: unknown
}

/** Redis answers again: limits are shared again from the next call on. */
export interface RedisRecoveredEvent {
  type: 'recovered'
  /** How long the outage lasted (ms, backend clock). */
  downtimeMs: number
}

export type RedisBackendEvent = RedisUnavailableEvent | RedisRecoveredEvent
