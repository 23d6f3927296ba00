/**
 * The part of an ioredis client, `Redis` or `Cluster` (ioredis 5 or 6), that the Redis backend uses. Declared here
 * rather than imported from ioredis, so that this package's published types compile without ioredis installed: a
 * user of the memory backend alone needs none. @llmpool/breaker declares its `RedisClientLike` the same way.
 */
export interface RedisClientLike {
  /** Connection status: `'ready'` when commands go through at once; `'reconnecting'`, `'close'` or `'end'` when not. */
  readonly status: string
  /** The options the client was made with; only `keyPrefix` is read (the scripts publish on prefixed channels). */
  readonly options?: { keyPrefix?: string | undefined }
  /** True for a `Cluster`: limiters of different names then live in different slots. */
  readonly isCluster?: boolean
  /** Adds a Lua script as a method of the client (ioredis sends EVALSHA, and EVAL after NOSCRIPT). */
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void
  /** PING: whether Redis answers now. */
  ping(): Promise<unknown>
  /** PEXPIRE: a key's time to live, in milliseconds. */
  pexpire(key: string, milliseconds: number): Promise<unknown>
  /** Subscribes this connection to channels (it then serves only pub/sub). */
  subscribe(...channels: string[]): Promise<unknown>
  /** A new connection with the same options. */
  duplicate(): RedisClientLike
  on(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
  /** Closes after pending replies. */
  quit(): Promise<unknown>
  /** Closes at once. */
  disconnect(): void
}

/**
 * ioredis connection options (its `RedisOptions`: `lazyConnect`, `keyPrefix`, `tls`, `commandTimeout`, …), handed to
 * ioredis as they are. Any object here, so that these types compile without ioredis installed; declare yours as
 * ioredis' `RedisOptions` to have them checked.
 */
export type RedisConnectOptions = object
