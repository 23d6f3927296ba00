import { randomUUID } from 'node:crypto'
import { type Clock, type Disposable, RedisProblemError, systemClock } from '@llmpool/schema'
import { fail, isFiniteNumber } from './check'
import { closeClient } from './close-client'
import {
  type CooldownMessage,
  cooldownChannel,
  cooldownKey,
  decodeCooldownMessage,
  decodeStoredCooldown,
  isKind,
  STORE_IF_LONGER,
  type StoredCooldown,
} from './cooldown-protocol'
import type { CooldownSharing, SharedCooldown } from './cooldown-sharing'
import { connectRedis, type RedisClientLike } from './redis-client'
import { RedisProblems } from './redis-problems'
import { waitAtMost } from './wait-at-most'

/** Options of `createRedisCooldowns()`. */
export interface RedisCooldownsOptions {
  /**
   * An ioredis 5 or 6 client, `Redis` or `Cluster` (duplicated for the subscription; yours is never closed), or a URL:
   * `redis://…`, `rediss://…`, or `redis+cluster://host:port,host:port,…` (`rediss+cluster://` for TLS) for a Redis
   * Cluster (two connections are opened, and closed on `dispose()`; needs `ioredis` installed).
   */
  redis: RedisClientLike | string
  /**
   * Prefix of the keys (`{keyPrefix:instance}`) and of the channel (`keyPrefix:published`); every process sharing
   * cooldowns must use the same, and no other sharing the same. Default `llmpool:cooldowns`.
   */
  keyPrefix?: string
  /** How long creating it, and `current()`, wait for Redis before carrying on without it (ms, > 0). Default 1000. */
  syncTimeoutMs?: number
  /** Hears every Redis problem from the start (also available later through `onError`). */
  onError?: (error: Error) => void
  /** Where the waits above are timed. Default `systemClock`. */
  clock?: Clock
}

/** Cooldowns shared with every process that uses the same Redis and key prefix: a router's `cooldowns` option. */
export interface RedisCooldowns extends CooldownSharing, Disposable {
  /** The key prefix in use. */
  readonly keyPrefix: string
  /**
   * Stores the cooldown in Redis for its remaining time (unless a longer one is stored) and publishes it. Skipped, and
   * reported, while Redis is not connected: a remaining time sent later would be stale. Nothing for a remaining time
   * ≤ 0; a `RangeError` for an empty instance, an unknown kind or a remaining time that is not finite.
   */
  publish(cooldown: SharedCooldown): void
  /**
   * Hears the cooldowns other processes publish (never this one's own), with their remaining time as sent. After a
   * reconnection, the instances last asked about with `current()` are read again and their cooldowns delivered here,
   * so that those published meanwhile are not missed.
   */
  subscribe(listener: (cooldown: SharedCooldown) => void): Disposable
  /**
   * The cooldowns of `instances` stored in Redis by other processes and still running, with the time left as Redis
   * measures it (PTTL). Never rejects: on a Redis problem (reported) or after `syncTimeoutMs`, it resolves with what
   * it has read.
   */
  current(instances: readonly string[]): Promise<SharedCooldown[]>
  /** Hears Redis problems (unreachable, timeouts, malformed messages); cooldowns keep working locally. */
  onError(listener: (error: Error) => void): Disposable
  /** Stops listening; closes the subscription and the connections opened for a URL. */
  dispose(): Promise<void>
}

const DEFAULT_KEY_PREFIX = 'llmpool:cooldowns'

/**
 * Shares cooldowns through Redis: each one is a key per instance whose PTTL is its remaining time, and a message on
 * the key prefix's channel. Resolves once subscribed or after `syncTimeoutMs`, whichever is first; Redis being
 * unreachable is reported through `onError`, never thrown.
 */
export async function createRedisCooldowns(options: RedisCooldownsOptions): Promise<RedisCooldowns> {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix)) {
    fail(undefined, 'keyPrefix', keyPrefix, 'a non-empty string without { or }')
  }
  const syncTimeoutMs = options.syncTimeoutMs ?? 1000
  if (!isFiniteNumber(syncTimeoutMs) || syncTimeoutMs <= 0)
    fail(undefined, 'syncTimeoutMs', syncTimeoutMs, 'a number > 0')
  const { redis } = options
  if (
    typeof redis !== 'string' &&
    (typeof redis !== 'object' || redis === null || typeof redis.duplicate !== 'function')
  ) {
    fail(undefined, 'redis', redis, 'an ioredis client or a redis:// URL')
  }
  const publisher = typeof redis === 'string' ? await connectRedis(redis) : redis
  const cooldowns = new Cooldowns({
    keyPrefix,
    syncTimeoutMs,
    publisher,
    ownsPublisher: typeof redis === 'string',
    clock: options.clock ?? systemClock,
  })
  if (options.onError !== undefined) cooldowns.onError(options.onError)
  await cooldowns.start()
  return cooldowns
}

class Cooldowns implements RedisCooldowns {
  readonly keyPrefix: string
  readonly #id = randomUUID()
  readonly #channel: string
  readonly #publisher: RedisClientLike
  readonly #subscriber: RedisClientLike
  readonly #ownsPublisher: boolean
  readonly #syncTimeoutMs: number
  readonly #clock: Clock
  readonly #listeners = new Set<{ listener: (cooldown: SharedCooldown) => void }>()
  readonly #problems = new RedisProblems('llmpool cooldown sharing', 'LLMPOOL_COOLDOWNS_REDIS')
  /** The instances last asked about with `current()`: read again after a reconnection. */
  #watched: readonly string[] = []
  #disposed = false

  constructor(settings: {
    keyPrefix: string
    syncTimeoutMs: number
    publisher: RedisClientLike
    ownsPublisher: boolean
    clock: Clock
  }) {
    this.keyPrefix = settings.keyPrefix
    this.#channel = cooldownChannel(settings.keyPrefix)
    this.#publisher = settings.publisher
    this.#ownsPublisher = settings.ownsPublisher
    this.#syncTimeoutMs = settings.syncTimeoutMs
    this.#clock = settings.clock
    this.#subscriber = settings.publisher.duplicate()
    this.#subscriber.on('error', this.#problems.report)
    this.#subscriber.on('message', this.#onMessage)
    this.#subscriber.on('ready', this.#onReady)
    if (this.#ownsPublisher) this.#publisher.on('error', this.#problems.report)
  }

  async start(): Promise<void> {
    // PING also connects a client created with lazyConnect, so that later publishes find it ready.
    await this.#wait(
      Promise.all([this.#subscriber.subscribe(this.#channel), this.#publisher.call('PING')]),
      `subscribing to ${this.#channel}`,
    )
  }

  publish(cooldown: SharedCooldown): void {
    const { instance, kind, remainingMs } = cooldown
    if (typeof instance !== 'string' || instance === '')
      fail(undefined, 'cooldown.instance', instance, 'a non-empty string')
    if (!isKind(kind))
      fail(undefined, 'cooldown.kind', kind, 'a cooldown kind (rate_limit, overloaded, auth, quota_exhausted)')
    if (!isFiniteNumber(remainingMs)) fail(undefined, 'cooldown.remainingMs', remainingMs, 'a finite number')
    const ms = Math.ceil(remainingMs)
    if (ms <= 0 || this.#disposed) return
    if (this.#publisher.status !== 'ready') {
      this.#problems.report(
        new RedisProblemError(
          'redis_not_connected',
          `Redis is not connected (${this.#publisher.status}); the cooldown of "${instance}" was not shared`,
        ),
      )
      return
    }
    const reason = String(cooldown.reason ?? '')
    const stored: StoredCooldown = { v: 1, origin: this.#id, kind, reason }
    const message: CooldownMessage = { v: 1, origin: this.#id, instance, remainingMs: ms, kind, reason }
    // One connection keeps the order on a standalone Redis: the key is set before anyone hears the message.
    Promise.all([
      this.#publisher.call(
        'EVAL',
        STORE_IF_LONGER,
        1,
        cooldownKey(this.keyPrefix, instance),
        JSON.stringify(stored),
        ms,
      ),
      this.#publisher.call('PUBLISH', this.#channel, JSON.stringify(message)),
    ]).catch(this.#problems.report)
  }

  subscribe(listener: (cooldown: SharedCooldown) => void): Disposable {
    const entry = { listener }
    this.#listeners.add(entry)
    return { dispose: () => void this.#listeners.delete(entry) }
  }

  async current(instances: readonly string[]): Promise<SharedCooldown[]> {
    if (this.#disposed) return []
    this.#watched = [...new Set(instances)]
    return this.#read(this.#watched)
  }

  onError(listener: (error: Error) => void): Disposable {
    return this.#problems.onError(listener)
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    this.#problems.close()
    this.#listeners.clear()
    this.#subscriber.removeListener('message', this.#onMessage)
    this.#subscriber.removeListener('ready', this.#onReady)
    // The error listeners stay: a connection closing may still emit, and ioredis would print unheard errors.
    await Promise.all([
      closeClient(this.#subscriber, this.#syncTimeoutMs, this.#clock),
      this.#ownsPublisher ? closeClient(this.#publisher, this.#syncTimeoutMs, this.#clock) : undefined,
    ])
  }

  /** Each instance's key and its PTTL; another process's running cooldowns, as read within `syncTimeoutMs`. */
  async #read(instances: readonly string[]): Promise<SharedCooldown[]> {
    const found: SharedCooldown[] = []
    const reads = instances.map(async (instance) => {
      const key = cooldownKey(this.keyPrefix, instance)
      const [value, left] = await Promise.all([this.#publisher.call('GET', key), this.#publisher.call('PTTL', key)])
      if (value === null || value === undefined) return
      const stored = decodeStoredCooldown(value)
      if (stored === undefined) {
        this.#problems.report(new RedisProblemError('redis_malformed_message', `Ignored a malformed value at ${key}`))
        return
      }
      if (stored.origin === this.#id || typeof left !== 'number' || left <= 0) return
      found.push({ instance, remainingMs: left, kind: stored.kind, reason: stored.reason })
    })
    await this.#wait(Promise.all(reads), `reading the cooldowns of ${instances.length} instance(s)`)
    return [...found]
  }

  #onMessage = (channel: string, raw: string): void => {
    if (channel !== this.#channel || this.#disposed) return
    const message = decodeCooldownMessage(String(raw))
    if (message === undefined) {
      this.#problems.report(
        new RedisProblemError('redis_malformed_message', `Ignored a malformed message on ${this.#channel}`),
      )
      return
    }
    if (message.origin === this.#id) return
    this.#deliver({
      instance: message.instance,
      remainingMs: message.remainingMs,
      kind: message.kind,
      reason: message.reason,
    })
  }

  #onReady = (): void => {
    // After a reconnection: what was published meanwhile went unheard; the keys still hold it.
    if (this.#watched.length === 0 || this.#disposed) return
    void this.#read(this.#watched).then((running) => {
      if (!this.#disposed) for (const cooldown of running) this.#deliver(cooldown)
    })
  }

  #deliver(cooldown: SharedCooldown): void {
    for (const entry of [...this.#listeners]) {
      try {
        entry.listener({ ...cooldown })
      } catch (thrown) {
        queueMicrotask(() => {
          throw thrown
        })
      }
    }
  }

  /** Waits for `promise` at most `syncTimeoutMs`; reports a rejection or the timeout, never throws. */
  async #wait(promise: Promise<unknown>, what: string): Promise<void> {
    const settled = promise.then(
      () => true,
      (error: unknown) => {
        this.#problems.report(error)
        return true
      },
    )
    const inTime = await waitAtMost(settled, this.#syncTimeoutMs, this.#clock)
    if (!inTime)
      this.#problems.report(
        new RedisProblemError(
          'redis_timeout',
          `Redis did not answer within ${this.#syncTimeoutMs} ms while ${what}; carrying on without it`,
        ),
      )
  }
}
