import type { Clock } from '@llmpool/schema'
import type { RedisOptions } from 'ioredis'
import type { RedisClientLike } from './client'
import { connectRedis } from './connect'
import { defineScripts, type ScriptClient } from './lua/index'
import type { RedisBackendEvent, UnavailablePolicy } from './options'
import { isClusterUrl, RedisProblemError } from '@llmpool/schema'

/** While Redis is down and the client says it is ready, at most one call per this interval tries Redis again. */
const PROBE_INTERVAL_MS = 500
/** The longest pause between two reconnection attempts of a connection the backend opened. */
const MAX_RECONNECT_DELAY_MS = 250

/** Redis could not be used for this call; `cause` says why. Internal: limiters turn it into their policy. */
export class RedisUnreachable extends Error {
  constructor(
    cause: unknown,
    /** When the connection tries Redis again, from now (ms). */
    readonly retryAfterMs: number,
  ) {
    super('Redis is unreachable', { cause })
    this.name = 'RedisUnreachable'
  }
}

export interface ConnectionOptions {
  redis: RedisClientLike | string
  commandTimeoutMs: number
  policy: UnavailablePolicy
  clock: Clock
  emit(event: RedisBackendEvent): void
}

/**
 * Opens an owned connection (a `Redis`, or a `Cluster` for a `redis+cluster://` URL): fail fast when disconnected
 * rather than queue forever, and reconnect within a quarter of a second once Redis is back.
 */
async function connect(url: string, commandTimeoutMs: number): Promise<RedisClientLike> {
  const options: RedisOptions = {
    enableAutoPipelining: true,
    // Queue only while the first connection is being made; a refused connection rejects queued commands at once.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    retryStrategy: (times) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
  }
  const client = await connectRedis(url, options)
  // The backend reports outages through its own events; without a listener ioredis would print each error.
  client.on('error', () => {})
  return client
}

/**
 * The backend's client and whether Redis is usable. Every Redis call goes through `run()`, which fails fast while
 * Redis is known to be down, bounds each call by the command timeout, and emits `unavailable` once per outage and
 * `recovered` when a call succeeds again.
 */
export class RedisConnection {
  /** Set once connected (or at once for a client the caller passed). */
  client: ScriptClient | undefined
  readonly ready: Promise<ScriptClient>
  readonly owned: boolean
  private down = false
  private downSince = 0
  private nextProbeAt = 0
  private closed = false
  /** Calls on their way, so that `close()` lets releases sent just before it arrive. */
  private readonly inFlight = new Set<Promise<unknown>>()

  /** True for an ioredis `Cluster` or a cluster URL: then limiters of different names live in different slots. */
  readonly isCluster: boolean

  constructor(private readonly options: ConnectionOptions) {
    this.owned = typeof options.redis === 'string'
    const { redis } = options
    this.isCluster = typeof redis === 'string' ? isClusterUrl(redis) : redis.isCluster === true
    this.ready =
      typeof redis === 'string'
        ? connect(redis, options.commandTimeoutMs).then((client) => this.adopt(client))
        : Promise.resolve(this.adopt(redis))
    // Errors surface at the first call; no unhandled rejection when nothing calls.
    this.ready.catch(() => {})
  }

  private adopt(client: RedisClientLike): ScriptClient {
    const scripted = defineScripts(client)
    // The client reconnected: let the next call find out at once whether Redis answers.
    client.on('ready', this.onReady)
    this.client = scripted
    if (this.closed && this.owned) void this.quit(scripted)
    return scripted
  }

  private readonly onReady = (): void => {
    this.nextProbeAt = 0
  }

  /** Runs one Redis call; rejects with `RedisUnreachable` when Redis cannot be used now. */
  run<T>(call: (client: ScriptClient) => Promise<T>): Promise<T> {
    const promise = this.execute(call)
    this.inFlight.add(promise)
    const settled = () => this.inFlight.delete(promise)
    promise.then(settled, settled)
    return promise
  }

  private async execute<T>(call: (client: ScriptClient) => Promise<T>): Promise<T> {
    const client = this.client ?? (await this.ready)
    const status = client.status
    if (this.down) {
      const now = this.options.clock.now()
      if (status !== 'ready' || now < this.nextProbeAt)
        throw new RedisUnreachable(
          new RedisProblemError('redis_not_connected', `Redis connection is ${status}`),
          this.retryAfterMs(),
        )
      this.nextProbeAt = now + PROBE_INTERVAL_MS
    } else if (status === 'reconnecting' || status === 'close' || status === 'end') {
      const cause = new RedisProblemError('redis_not_connected', `Redis connection is ${status}`)
      this.fail(cause)
      throw new RedisUnreachable(cause, this.retryAfterMs())
    }
    let result: T
    try {
      // An owned standalone connection times its commands itself (ioredis commandTimeout); a cluster's commands may
      // also wait for slots or redirections, so the backend bounds those.
      result = await (this.owned && !this.isCluster ? call(client) : this.withTimeout(call(client)))
    } catch (error) {
      this.fail(error)
      throw new RedisUnreachable(error, this.retryAfterMs())
    }
    if (this.down) this.recover()
    return result
  }

  /** A suggestion of when to retry while Redis is unreachable: the next probe, from 100 ms to 1 s from now. */
  private retryAfterMs(): number {
    return Math.min(1000, Math.max(100, Math.ceil(this.nextProbeAt - this.options.clock.now())))
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const { clock, commandTimeoutMs } = this.options
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(
        () => reject(new RedisProblemError('redis_timeout', `Redis did not answer within ${commandTimeoutMs} ms`)),
        commandTimeoutMs,
      )
      promise.then(
        (value) => {
          clock.clearTimeout(timer)
          resolve(value)
        },
        (error: unknown) => {
          clock.clearTimeout(timer)
          reject(error)
        },
      )
    })
  }

  private fail(cause: unknown): void {
    const now = this.options.clock.now()
    this.nextProbeAt = now + PROBE_INTERVAL_MS
    if (this.down || this.closed) return
    this.down = true
    this.downSince = now
    const { policy } = this.options
    const detail = cause instanceof Error ? cause.message : String(cause)
    this.options.emit({
      type: 'unavailable',
      policy,
      message:
        policy === 'fail-closed'
          ? `Redis is unreachable (${detail}); limiters reject with LimiterUnavailableError until it answers`
          : `Redis is unreachable (${detail}); limiters fall back to memory, limiting this process alone, until it answers`,
      cause,
    })
  }

  private recover(): void {
    this.down = false
    this.options.emit({ type: 'recovered', downtimeMs: this.options.clock.now() - this.downSince })
  }

  /** Closes the connection if the backend opened it, after the calls on their way (batches leave on the next tick). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => process.nextTick(resolve))
    await Promise.allSettled([...this.inFlight])
    this.closed = true
    this.client?.off('ready', this.onReady)
    if (this.owned && this.client) await this.quit(this.client)
  }

  private async quit(client: RedisClientLike): Promise<void> {
    if (client.status === 'ready') {
      try {
        await client.quit()
        return
      } catch {
        // fall through to a hard disconnect
      }
    }
    client.disconnect()
  }
}
