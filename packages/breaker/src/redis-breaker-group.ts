import { randomUUID } from 'node:crypto'
import { type Clock, type Disposable, DisposedError, RedisProblemError, systemClock } from '@llmpool/schema'
import { fail, isFiniteNumber } from './check'
import { closeClient } from './close-client'
import { connectRedis, type RedisClientLike } from './redis-client'
import { RedisProblems } from './redis-problems'
import {
  channelName,
  decodeMessage,
  decodeStored,
  encodeMessage,
  type SharedStateMessage,
  stateKey,
  trialKey,
} from './redis-protocol'
import { redisTrialCoordinator } from './redis-trial-coordinator'
import type { Breaker, StateChange, TrialCoordinator } from './types'
import { waitAtMost } from './wait-at-most'

/**
 * A breaker that can share its state: the `Breaker` contract plus the clock it reads, and optionally
 * `coordinateTrials` to share its half-open trials too (`CircuitBreaker` has both).
 */
export type ShareableBreaker = Breaker & {
  readonly clock: Clock
  /** Lets the group decide which process runs the half-open trials; without it each process runs its own. */
  coordinateTrials?(coordinator: TrialCoordinator): Disposable
}

/** Options of `createRedisBreakerGroup()`. */
export interface RedisBreakerGroupOptions {
  /**
   * An ioredis 5 or 6 client, `Redis` or `Cluster` (the group duplicates it for its subscription and never closes yours),
   * or a URL: `redis://…`, `rediss://…`, or `redis+cluster://host:port,host:port,…` (`rediss+cluster://` for TLS) for
   * a Redis Cluster (the group opens two connections, and closes them on `dispose()`; needs `ioredis` installed).
   */
  redis: RedisClientLike | string
  /** Prefix of the state keys and the channel; every process sharing breakers must use the same. Default `llmpool:breaker`. */
  keyPrefix?: string
  /** How long `create` and `add` wait for Redis before carrying on locally (ms, > 0). Default 1000. */
  syncTimeoutMs?: number
  /** Hears every Redis problem from the start (also available later through `onError`). */
  onError?: (error: Error) => void
  /** Where the waits above are timed. Default `systemClock`. */
  clock?: Clock
}

/** Breakers whose openings and closings are shared with every process that uses the same Redis and key prefix. */
export interface RedisBreakerGroup extends Disposable {
  /** The key prefix in use. */
  readonly keyPrefix: string
  /**
   * Shares `breaker` under `name` (default `breaker.name`): its openings and closings are published, the other
   * processes' are applied to it (reason `'remote'`), and a current opening stored in Redis is applied before the
   * promise resolves (bounded by `syncTimeoutMs`; it never rejects for Redis problems). While half-open, one
   * process at a time runs the trials (at most `halfOpenRequests` at once in total), if the breaker has
   * `coordinateTrials`.
   */
  add(breaker: ShareableBreaker, name?: string): Promise<Disposable>
  /** Hears Redis problems (unreachable, timeouts, malformed messages); the breakers keep working locally. */
  onError(listener: (error: Error) => void): Disposable
  /** Stops sharing every breaker; closes the connections the group opened. */
  dispose(): Promise<void>
}

const DEFAULT_KEY_PREFIX = 'llmpool:breaker'

/**
 * Connects a group of shared breakers to Redis: one subscriber connection for all of them. Resolves once subscribed
 * or after `syncTimeoutMs`, whichever is first; Redis being unreachable is reported through `onError`, not thrown.
 */
export async function createRedisBreakerGroup(options: RedisBreakerGroupOptions): Promise<RedisBreakerGroup> {
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
  const group = new Group({
    keyPrefix,
    syncTimeoutMs,
    publisher,
    ownsPublisher: typeof redis === 'string',
    clock: options.clock ?? systemClock,
  })
  if (options.onError !== undefined) group.onError(options.onError)
  await group.start()
  return group
}

interface Entry {
  name: string
  key: string
  breaker: ShareableBreaker
  subscription: Disposable | undefined
  /** The coordination of its half-open trials, if the breaker supports it. */
  trials: Disposable | undefined
  /** True while a remote change is being applied, so that it is not published back. */
  applyingRemote: boolean
}

class Group implements RedisBreakerGroup {
  readonly keyPrefix: string
  readonly #id = randomUUID()
  readonly #channel: string
  readonly #publisher: RedisClientLike
  readonly #subscriber: RedisClientLike
  readonly #ownsPublisher: boolean
  readonly #syncTimeoutMs: number
  readonly #clock: Clock
  readonly #entries = new Map<string, Entry>()
  readonly #problems = new RedisProblems('llmpool breaker state sharing', 'LLMPOOL_BREAKER_REDIS')
  #disposed = false

  constructor(settings: {
    keyPrefix: string
    syncTimeoutMs: number
    publisher: RedisClientLike
    ownsPublisher: boolean
    clock: Clock
  }) {
    this.keyPrefix = settings.keyPrefix
    this.#channel = channelName(settings.keyPrefix)
    this.#publisher = settings.publisher
    this.#ownsPublisher = settings.ownsPublisher
    this.#syncTimeoutMs = settings.syncTimeoutMs
    this.#clock = settings.clock
    this.#subscriber = settings.publisher.duplicate()
    this.#subscriber.on('error', this.#report)
    this.#subscriber.on('message', this.#onMessage)
    this.#subscriber.on('ready', this.#onReady)
    if (this.#ownsPublisher) this.#publisher.on('error', this.#report)
  }

  async start(): Promise<void> {
    // PING also connects a client created with lazyConnect, so that later publishes find it ready.
    await this.#wait(
      Promise.all([this.#subscriber.subscribe(this.#channel), this.#publisher.call('PING')]),
      `subscribing to ${this.#channel}`,
    )
  }

  async add(breaker: ShareableBreaker, name: string | undefined = breaker.name): Promise<Disposable> {
    if (this.#disposed) throw new DisposedError('this RedisBreakerGroup')
    if (typeof name !== 'string' || name === '')
      fail(undefined, 'name', name, 'a non-empty string (or give the breaker a name)')
    if (/[{}]/.test(name)) fail(name, 'name', name, 'a name without { or }')
    if (this.#entries.has(name)) fail(name, 'name', name, 'unique within the group')
    const entry: Entry = {
      name,
      key: stateKey(this.keyPrefix, name),
      breaker,
      subscription: undefined,
      trials: undefined,
      applyingRemote: false,
    }
    entry.subscription = breaker.onStateChange((change) => this.#onLocalChange(entry, change))
    entry.trials = breaker.coordinateTrials?.(
      redisTrialCoordinator({
        publisher: this.#publisher,
        name,
        key: trialKey(this.keyPrefix, name),
        owner: this.#id,
        syncTimeoutMs: this.#syncTimeoutMs,
        clock: this.#clock,
        report: this.#report,
      }),
    )
    this.#entries.set(name, entry)
    await this.#sync(entry)
    return { dispose: () => this.#remove(entry) }
  }

  onError(listener: (error: Error) => void): Disposable {
    return this.#problems.onError(listener)
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return
    // A round of trials this process holds is given up before the connection closes.
    for (const entry of [...this.#entries.values()]) this.#remove(entry)
    this.#disposed = true
    this.#problems.close()
    this.#subscriber.removeListener('message', this.#onMessage)
    this.#subscriber.removeListener('ready', this.#onReady)
    // The error listeners stay: a connection closing may still emit, and ioredis would print unheard errors.
    await Promise.all([
      closeClient(this.#subscriber, this.#syncTimeoutMs, this.#clock),
      this.#ownsPublisher ? closeClient(this.#publisher, this.#syncTimeoutMs, this.#clock) : undefined,
    ])
  }

  #remove(entry: Entry): void {
    entry.subscription?.dispose()
    entry.trials?.dispose()
    if (this.#entries.get(entry.name) === entry) this.#entries.delete(entry.name)
  }

  /** Learns a current opening from the state key; its PTTL is the remaining time, measured by Redis itself. */
  async #sync(entry: Entry): Promise<void> {
    const reply = Promise.all([this.#publisher.call('GET', entry.key), this.#publisher.call('PTTL', entry.key)]).then(
      ([value, pttl]) => {
        if (this.#disposed || this.#entries.get(entry.name) !== entry) return
        const stored = decodeStored(value)
        if (stored !== undefined && typeof pttl === 'number' && pttl > 0) {
          this.#applyOpen(entry, pttl, stored.recoveryTimeMs, stored.reopenCount)
        }
      },
    )
    // A late reply is still applied: PTTL is as of when Redis answered, so it is never stale.
    await this.#wait(reply, `reading ${entry.key}`)
  }

  #onReady = (): void => {
    // After a reconnection: learn what was missed while disconnected.
    for (const entry of this.#entries.values()) void this.#sync(entry)
  }

  #onMessage = (channel: string, raw: string): void => {
    if (channel !== this.#channel || this.#disposed) return
    const message = decodeMessage(String(raw))
    if (message === undefined) {
      this.#report(new RedisProblemError('redis_malformed_message', `Ignored a malformed message on ${this.#channel}`))
      return
    }
    if (message.origin === this.#id) return
    const entry = this.#entries.get(message.name)
    if (entry === undefined) return
    if (message.state === 'open')
      this.#applyOpen(entry, message.remainingMs, message.recoveryTimeMs, message.reopenCount)
    else this.#applyClosed(entry)
  }

  #onLocalChange(entry: Entry, change: StateChange): void {
    if (entry.applyingRemote || this.#disposed) return
    if (change.to === 'open') this.#publishOpen(entry)
    else if (change.to === 'closed') this.#publishClosed(entry)
    // open → half_open is not published: every process computes it from the same remaining time.
  }

  #publishOpen(entry: Entry): void {
    const snapshot = entry.breaker.toJSON()
    if (snapshot.state !== 'open' || snapshot.openedAt === null) return
    const remainingMs = Math.ceil(snapshot.openedAt + snapshot.recoveryTimeMs - entry.breaker.clock.now())
    if (remainingMs <= 0 || !this.#ready(entry, 'opening')) return
    const { recoveryTimeMs, reopenCount } = snapshot
    const message: SharedStateMessage = {
      v: 1,
      origin: this.#id,
      name: entry.name,
      state: 'open',
      remainingMs,
      recoveryTimeMs,
      reopenCount,
    }
    const stored = JSON.stringify({ recoveryTimeMs, reopenCount, origin: this.#id })
    // One connection keeps the order: the key is set before anyone hears the message.
    Promise.all([
      this.#publisher.call('SET', entry.key, stored, 'PX', remainingMs),
      this.#publisher.call('PUBLISH', this.#channel, encodeMessage(message)),
    ]).catch(this.#report)
  }

  #publishClosed(entry: Entry): void {
    if (!this.#ready(entry, 'closing')) return
    const message: SharedStateMessage = { v: 1, origin: this.#id, name: entry.name, state: 'closed' }
    Promise.all([
      this.#publisher.call('DEL', entry.key),
      this.#publisher.call('PUBLISH', this.#channel, encodeMessage(message)),
    ]).catch(this.#report)
  }

  /** Applies another process's opening, unless this breaker is already open at least as long. */
  #applyOpen(entry: Entry, remainingMs: number, recoveryTimeMs: number, reopenCount: number): void {
    const { breaker } = entry
    const current = breaker.toJSON()
    const end = breaker.clock.now() + Math.min(remainingMs, recoveryTimeMs)
    if (current.state === 'open' && current.openedAt !== null && current.openedAt + current.recoveryTimeMs >= end)
      return
    this.#applying(entry, () =>
      breaker.restore(
        { state: 'open', failures: 0, openedAt: end - recoveryTimeMs, recoveryTimeMs, reopenCount },
        { notify: true, reason: 'remote' },
      ),
    )
  }

  #applyClosed(entry: Entry): void {
    const current = entry.breaker.toJSON()
    if (current.state === 'closed') return
    this.#applying(entry, () =>
      entry.breaker.restore(
        { state: 'closed', failures: 0, openedAt: null, recoveryTimeMs: current.recoveryTimeMs, reopenCount: 0 },
        { notify: true, reason: 'remote' },
      ),
    )
  }

  #applying(entry: Entry, apply: () => void): void {
    entry.applyingRemote = true
    try {
      apply()
    } finally {
      entry.applyingRemote = false
    }
  }

  /** Publishing while disconnected would queue a remaining time that is stale when it is finally sent: skip it. */
  #ready(entry: Entry, what: string): boolean {
    if (this.#publisher.status === 'ready') return true
    this.#report(
      new RedisProblemError(
        'redis_not_connected',
        `Redis is not connected (${this.#publisher.status}); the ${what} of breaker "${entry.name}" was not shared`,
      ),
    )
    return false
  }

  /** Waits for `promise` at most `syncTimeoutMs`; reports a rejection or the timeout, never throws. */
  async #wait(promise: Promise<unknown>, what: string): Promise<void> {
    const settled = promise.then(
      () => true,
      (error: unknown) => {
        this.#report(error)
        return true
      },
    )
    const inTime = await waitAtMost(settled, this.#syncTimeoutMs, this.#clock)
    if (!inTime)
      this.#report(
        new RedisProblemError(
          'redis_timeout',
          `Redis did not answer within ${this.#syncTimeoutMs} ms while ${what}; carrying on locally`,
        ),
      )
  }

  #report = (error: unknown): void => {
    this.#problems.report(error)
  }
}
