/**
 * Shared breaker state over a real Redis (127.0.0.1:6379). Each breaker gets its own ioredis connection, as separate
 * processes would. Keys live under a prefix unique to this run and are deleted afterwards.
 */
import { randomUUID } from 'node:crypto'
import {
  CircuitBreaker,
  createRedisBreakerGroup,
  type RedisBreakerGroup,
  type SharedBreakerState,
  shareBreakerState,
  type StateChange,
} from '@llmpool/breaker'
import Redis from 'ioredis'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { ManualClock, serverError } from './helpers'

const REDIS_URL = 'redis://127.0.0.1:6379'
const keyPrefix = `llmpool-test:breaker:${randomUUID()}`
const clients: Redis[] = []
const shares: Array<SharedBreakerState | RedisBreakerGroup> = []

function connection(): Redis {
  const client = new Redis(REDIS_URL)
  clients.push(client)
  return client
}

async function share(breaker: CircuitBreaker, redis: Redis | string = connection()): Promise<SharedBreakerState> {
  const shared = await shareBreakerState(breaker, { redis, keyPrefix, onError: (error) => errors.push(error) })
  shares.push(shared)
  return shared
}

let errors: Error[] = []

/** Resolves with the first change to `state`, or rejects after `ms`. */
function nextChange(breaker: CircuitBreaker, to: string, ms = 1000): Promise<StateChange> {
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
async function waitFor(predicate: () => boolean, ms = 1000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function trip(breaker: CircuitBreaker): void {
  for (let i = 0; i < 2; i++) breaker.tryAcquire()?.failure(serverError())
}

afterEach(async () => {
  await Promise.all(shares.splice(0).map((shared) => shared.dispose()))
  errors = []
})

afterAll(async () => {
  const cleaner = new Redis(REDIS_URL)
  const keys = await cleaner.keys(`{${keyPrefix}:*`)
  if (keys.length > 0) await cleaner.del(...keys)
  await cleaner.quit()
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())))
})

describe('shared state through Redis', () => {
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
    const options = { name, failureThreshold: 2, recoveryTimeMs: 10_000, recoveryBackoff: { factor: 3, maxMs: 600_000 } }
    const a = new CircuitBreaker({ ...options, clock })
    const b = new CircuitBreaker(options)
    await share(a)
    await share(b)
    const firstOpen = nextChange(b, 'open')
    trip(a)
    await firstOpen
    clock.advance(10_000)
    // B is still open (its real clock has not moved 10 s): it adopts the longer opening silently, open → open.
    a.tryAcquire()!.failure(serverError()) // the trial fails: open again for 30 s
    await waitFor(() => b.toJSON().reopenCount === 1)
    expect(b.toJSON()).toMatchObject({ state: 'open', recoveryTimeMs: 30_000, reopenCount: 1 })
    expect(b.retryAfterMs).toBeGreaterThan(28_000)
  })

  test('breakers of other names are not affected; one group shares many breakers', async () => {
    const group = await createRedisBreakerGroup({ redis: connection(), keyPrefix, onError: (error) => errors.push(error) })
    shares.push(group)
    const other = await createRedisBreakerGroup({ redis: connection(), keyPrefix })
    shares.push(other)
    const [x, y] = ['x', 'y'].map((suffix) => new CircuitBreaker({ name: `${suffix}-${randomUUID()}`, failureThreshold: 2, recoveryTimeMs: 60_000 }))
    const remoteX = new CircuitBreaker({ name: x!.name, failureThreshold: 2, recoveryTimeMs: 60_000 })
    await group.add(x!)
    await group.add(y!)
    await other.add(remoteX)
    await expect(group.add(new CircuitBreaker({ name: x!.name, failureThreshold: 1, recoveryTimeMs: 1 }))).rejects.toThrow(RangeError)
    await expect(group.add(new CircuitBreaker({ failureThreshold: 1, recoveryTimeMs: 1 }))).rejects.toThrow(RangeError)
    const opened = nextChange(remoteX, 'open')
    trip(x!)
    await opened
    expect(y!.state).toBe('closed')
  })

  test('a name given to shareBreakerState overrides the breaker’s', async () => {
    const shared = `shared-${randomUUID()}`
    const a = new CircuitBreaker({ name: 'a', failureThreshold: 2, recoveryTimeMs: 60_000 })
    const b = new CircuitBreaker({ name: 'b', failureThreshold: 2, recoveryTimeMs: 60_000 })
    shares.push(await shareBreakerState(a, { redis: connection(), keyPrefix, name: shared }))
    shares.push(await shareBreakerState(b, { redis: REDIS_URL, keyPrefix, name: shared }))
    const opened = nextChange(b, 'open')
    trip(a)
    await opened
  })
})

describe('Redis unreachable', () => {
  test('no crash; errors are reported; the breaker works locally', async () => {
    const clock = new ManualClock()
    const breaker = new CircuitBreaker({ name: 'down', failureThreshold: 2, recoveryTimeMs: 1000, clock })
    const heard: Error[] = []
    const started = Date.now()
    const shared = await shareBreakerState(breaker, {
      redis: 'redis://127.0.0.1:6399',
      keyPrefix,
      syncTimeoutMs: 200,
      onError: (error) => heard.push(error),
    })
    expect(Date.now() - started).toBeLessThan(2000)
    trip(breaker)
    expect(breaker.state).toBe('open')
    clock.advance(1000)
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok')
    expect(breaker.state).toBe('closed')
    expect(heard.length).toBeGreaterThan(0)
    expect(heard.some((error) => /not connected|did not answer|ECONNREFUSED/.test(error.message))).toBe(true)
    await shared.dispose()
  })

  test('with a client the user passes, too; the group never closes it', async () => {
    const client = new Redis(6399, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 200, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    const breaker = new CircuitBreaker({ name: 'down-client', failureThreshold: 2, recoveryTimeMs: 1000 })
    const shared = await shareBreakerState(breaker, { redis: client, keyPrefix, syncTimeoutMs: 200, onError: () => {} })
    trip(breaker)
    expect(breaker.state).toBe('open')
    await shared.dispose()
    expect(client.status).not.toBe('end')
    client.disconnect()
  })
})

describe('without ioredis for a URL', () => {
  test('a bad redis option is a RangeError', async () => {
    await expect(createRedisBreakerGroup({ redis: 42 as unknown as string })).rejects.toThrow(RangeError)
    await expect(createRedisBreakerGroup({ redis: REDIS_URL, keyPrefix: '{bad}' })).rejects.toThrow(RangeError)
    await expect(createRedisBreakerGroup({ redis: REDIS_URL, syncTimeoutMs: 0 })).rejects.toThrow(RangeError)
  })
})
