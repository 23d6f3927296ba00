/**
 * The shared-state suite: breakers of several "processes" (each with its own connections) share openings, closings
 * and half-open trials through one Redis — standalone (redis.test.ts) or a cluster (redis.cluster.test.ts).
 */
import { randomUUID } from 'node:crypto'
import {
  type BreakerPermit,
  CircuitBreaker,
  createRedisBreakerGroup,
  type RedisBreakerGroup,
  type RedisClientLike,
  type SharedBreakerState,
  shareBreakerState,
  type StateChange,
} from '@llmpool/breaker'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { ManualClock, serverError } from './helpers'

/** Where the suite runs. */
export interface SharedStateTarget {
  /** A URL the group connects to itself (`redis://` or `redis+cluster://`). */
  url(): string
  /** A new client of the caller's, as another process would have. */
  connection(): RedisClientLike
  /** Unique to this run; keys live under it. */
  keyPrefix: string
}

/** Resolves with the first change to `state`, or rejects after `ms`. */
export function nextChange(breaker: CircuitBreaker, to: string, ms = 1000): Promise<StateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose()
      reject(new Error(`no change to ${to} within ${ms} ms`))
    }, ms)
    const subscription = breaker.onStateChange((change) => {
      if (change.to !== to) return
      clearTimeout(timer)
      subscription.dispose()
      resolve(change)
    })
  })
}

/** Polls `predicate` every 5 ms; rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 1000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export function trip(breaker: CircuitBreaker): void {
  for (let i = 0; i < 2; i++) breaker.tryAcquire()?.failure(serverError())
}

/**
 * A trial permit of a half-open shared breaker. The first `tryAcquire()` claims the round in Redis and is refused
 * (it stays synchronous); the answer admits the next one.
 */
export async function trial(breaker: CircuitBreaker, ms = 1000): Promise<BreakerPermit> {
  const deadline = Date.now() + ms
  for (;;) {
    const permit = breaker.tryAcquire()
    if (permit !== undefined) return permit
    if (Date.now() > deadline) throw new Error(`no trial permit within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export function describeSharedState(label: string, target: SharedStateTarget): void {
  const shares: Array<SharedBreakerState | RedisBreakerGroup> = []
  let errors: Error[] = []

  async function share(
    breaker: CircuitBreaker,
    redis: RedisClientLike | string = target.connection(),
  ): Promise<SharedBreakerState> {
    const shared = await shareBreakerState(breaker, {
      redis,
      keyPrefix: target.keyPrefix,
      onError: (error) => errors.push(error),
    })
    shares.push(shared)
    return shared
  }

  afterEach(async () => {
    await Promise.all(shares.splice(0).map((shared) => shared.dispose()))
    errors = []
  })
  afterAll(async () => {
    await Promise.all(shares.splice(0).map((shared) => shared.dispose()))
  })

  describe(`shared state through Redis: ${label}`, () => {
    test('a trip in one process opens the others within 1 s; a later one starts open; closing propagates', async () => {
      const name = `provider-${randomUUID()}`
      // A reads a manual clock, so the test can move it to its recovery time at once; B and C read the real clock.
      const clock = new ManualClock(Date.now())
      const a = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000, clock })
      const b = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000 })
      await share(a)
      await share(b)

      const heardByB = nextChange(b, 'open')
      const started = Date.now()
      trip(a)
      expect(a.state).toBe('open')
      const change = await heardByB
      expect(Date.now() - started).toBeLessThan(1000)
      expect(change.reason).toBe('remote')
      expect(b.state).toBe('open')
      expect(b.retryAfterMs).toBeGreaterThan(58_000)
      expect(b.retryAfterMs).toBeLessThanOrEqual(60_000)
      await expect(b.execute(async () => 'x')).rejects.toMatchObject({ code: 'circuit_open' })

      // A process that starts later learns the opening from the stored key.
      const c = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000 })
      await share(c)
      expect(c.state).toBe('open')
      expect(c.retryAfterMs).toBeGreaterThan(57_000)

      // A recovers (its clock moves on), its trial succeeds: B and C close too.
      const bCloses = nextChange(b, 'closed')
      const cCloses = nextChange(c, 'closed')
      clock.advance(60_000)
      await expect(a.execute(async () => 'ok')).resolves.toBe('ok')
      expect(a.state).toBe('closed')
      expect((await bCloses).reason).toBe('remote')
      expect((await cCloses).reason).toBe('remote')
      await expect(b.execute(async () => 'x')).resolves.toBe('x')

      // The key is gone: a newcomer starts closed.
      const d = new CircuitBreaker({ name, failureThreshold: 2, recoveryTimeMs: 60_000 })
      await share(d)
      expect(d.state).toBe('closed')
      expect(errors).toEqual([])
    })

    test('a re-opening carries its backed-off recovery time to the others', async () => {
      const name = `provider-${randomUUID()}`
      const clock = new ManualClock(Date.now())
      const options = {
        name,
        failureThreshold: 2,
        recoveryTimeMs: 10_000,
        recoveryBackoff: { factor: 3, maxMs: 600_000 },
      }
      const a = new CircuitBreaker({ ...options, clock })
      const b = new CircuitBreaker(options)
      await share(a)
      await share(b)
      const firstOpen = nextChange(b, 'open')
      trip(a)
      await firstOpen
      clock.advance(10_000)
      // B is still open (its real clock has not moved 10 s): it adopts the longer opening silently, open → open.
      ;(await trial(a)).failure(serverError()) // the trial fails: open again for 30 s
      await waitFor(() => b.toJSON().reopenCount === 1)
      expect(b.toJSON()).toMatchObject({ state: 'open', recoveryTimeMs: 30_000, reopenCount: 1 })
      expect(b.retryAfterMs).toBeGreaterThan(28_000)
    })

    test('breakers of other names are not affected; one group shares many breakers', async () => {
      const group = await createRedisBreakerGroup({
        redis: target.connection(),
        keyPrefix: target.keyPrefix,
        onError: (error) => errors.push(error),
      })
      shares.push(group)
      const other = await createRedisBreakerGroup({ redis: target.connection(), keyPrefix: target.keyPrefix })
      shares.push(other)
      const [x, y] = ['x', 'y'].map(
        (suffix) =>
          new CircuitBreaker({ name: `${suffix}-${randomUUID()}`, failureThreshold: 2, recoveryTimeMs: 60_000 }),
      )
      const remoteX = new CircuitBreaker({ name: x!.name, failureThreshold: 2, recoveryTimeMs: 60_000 })
      await group.add(x!)
      await group.add(y!)
      await other.add(remoteX)
      await expect(
        group.add(new CircuitBreaker({ name: x!.name, failureThreshold: 1, recoveryTimeMs: 1 })),
      ).rejects.toThrow(RangeError)
      await expect(group.add(new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1 }))).rejects.toThrow(
        RangeError,
      )
      const opened = nextChange(remoteX, 'open')
      trip(x!)
      await opened
      expect(y!.state).toBe('closed')
    })

    test('a name given to shareBreakerState overrides the breaker’s', async () => {
      const shared = `shared-${randomUUID()}`
      const a = new CircuitBreaker({ name: 'a', failureThreshold: 2, recoveryTimeMs: 60_000 })
      const b = new CircuitBreaker({ name: 'b', failureThreshold: 2, recoveryTimeMs: 60_000 })
      shares.push(await shareBreakerState(a, { redis: target.connection(), keyPrefix: target.keyPrefix, name: shared }))
      shares.push(await shareBreakerState(b, { redis: target.url(), keyPrefix: target.keyPrefix, name: shared }))
      const opened = nextChange(b, 'open')
      trip(a)
      await opened
    })

    test('half-open: one process runs the trials, the others refuse until it decides; its success closes them', async () => {
      const name = `provider-${randomUUID()}`
      const options = { name, failureThreshold: 2, recoveryTimeMs: 10_000, halfOpenRequests: 1, trialTimeoutMs: 5000 }
      const clockA = new ManualClock(Date.now())
      const clockB = new ManualClock(Date.now())
      const a = new CircuitBreaker({ ...options, clock: clockA })
      const b = new CircuitBreaker({ ...options, clock: clockB })
      await share(a)
      await share(b)
      const opened = nextChange(b, 'open')
      trip(a)
      await opened
      clockA.advance(10_000)
      clockB.advance(10_000)
      expect([a.state, b.state]).toEqual(['half_open', 'half_open'])
      const permit = await trial(a)
      expect(permit.trial).toBe(true)
      // B asks, learns that A holds the round, and refuses until it lapses (the trial timeout) or A decides.
      expect(b.tryAcquire()).toBeUndefined()
      await waitFor(() => b.retryAfterMs > 1)
      expect(b.retryAfterMs).toBeGreaterThan(4000)
      expect(b.tryAcquire()).toBeUndefined()
      await expect(b.execute(async () => 'x')).rejects.toMatchObject({ code: 'circuit_half_open_full' })
      const closed = nextChange(b, 'closed')
      permit.success()
      expect(a.state).toBe('closed')
      expect((await closed).reason).toBe('remote')
      expect(errors).toEqual([])
    })
  })
}
