/** Behaviour of the Redis backend beyond the shared contract. Real Redis, real time. */
import { Redis } from 'ioredis'
import { afterAll, describe, expect, test } from 'vitest'
import { type Lease, redisBackend } from '../src/index'
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-keys'

const prefix = uniquePrefix('backend')
const admin = new Redis(REDIS_URL)
afterAll(async () => {
  await deleteKeys(REDIS_URL, prefix)
  admin.disconnect()
})
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
let run = 0
const nextPrefix = () => `${prefix}-${++run}`

function granted(result: unknown): Lease {
  expect((result as Lease).granted).toBe(true)
  return result as Lease
}

describe('redis backend', () => {
  test('keys are hash-tagged per limiter and expire when idle', async () => {
    const keyPrefix = nextPrefix()
    const backend = redisBackend({ redis: REDIS_URL, prefix: keyPrefix, leaseTtlMs: 5000 })
    const limiters = [
      backend.create('a', { kind: 'token_bucket', bucketSize: 10, refillPerSecond: 1 }),
      backend.create('a', { kind: 'fixed_window', windowMs: 60_000, maxRequests: 10 }),
      backend.create('a', { kind: 'sliding_window', windowMs: 60_000, limit: 10 }),
      backend.create('a', { kind: 'concurrency', limit: 10 }),
    ]
    for (const limiter of limiters) granted(await limiter.tryAcquire())
    const keys = (await admin.keys(`{${keyPrefix}:a}:*`)).sort()
    expect(keys).toEqual([
      `{${keyPrefix}:a}:bucket`,
      `{${keyPrefix}:a}:concurrency`,
      `{${keyPrefix}:a}:fixed`,
      `{${keyPrefix}:a}:sliding`,
    ])
    for (const key of keys) {
      const ttl = await admin.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(61_000)
    }
    await backend.dispose()
  })

  test('two backends with the same prefix share a limit; another prefix does not', async () => {
    const keyPrefix = nextPrefix()
    const spec = { kind: 'sliding_window', windowMs: 60_000, limit: 3 } as const
    const one = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const two = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const other = redisBackend({ redis: REDIS_URL, prefix: `${keyPrefix}-other` })
    granted(await one.create('rpm', spec).tryAcquire(2))
    granted(await two.create('rpm', spec).tryAcquire(1))
    expect(await two.create('rpm', spec).tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
    granted(await other.create('rpm', spec).tryAcquire(3))
    await Promise.all([one.dispose(), two.dispose(), other.dispose()])
  })

  test('cancelling a sliding-window lease refunds exactly, even when it is not the latest', async () => {
    const backend = redisBackend({ redis: REDIS_URL, prefix: nextPrefix() })
    const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 3 })
    const first = granted(await limiter.tryAcquire())
    granted(await limiter.tryAcquire())
    granted(await limiter.tryAcquire())
    first.cancel()
    expect((await limiter.state()).available).toBe(1)
    granted(await limiter.tryAcquire())
    expect((await limiter.tryAcquire()).granted).toBe(false)
    await backend.dispose()
  })

  test('an atomic composite takes nothing from its parts when one is short', async () => {
    const backend = redisBackend({ redis: REDIS_URL, prefix: nextPrefix() })
    const bucket = backend.create('bucket', { kind: 'token_bucket', bucketSize: 5, refillPerSecond: 0.001 })
    const window = backend.create('window', { kind: 'fixed_window', windowMs: 60_000, maxRequests: 2 })
    const both = backend.composite('both', [bucket, window])
    const lease = granted(await both.tryAcquire())
    granted(await both.tryAcquire())
    expect(await both.tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
    expect((await bucket.state()).available).toBe(3)
    lease.cancel()
    const state = await both.state()
    expect(state.parts?.map((part) => part.available)).toEqual([4, 1])
    await backend.dispose()
  })

  test('held leases are renewed, and relearned by Redis when their key is lost (FLUSHALL, restart)', async () => {
    const keyPrefix = nextPrefix()
    const backend = redisBackend({ redis: REDIS_URL, prefix: keyPrefix, leaseTtlMs: 300 })
    const limiter = backend.create('concurrency', { kind: 'concurrency', limit: 2 })
    const lease = granted(await limiter.tryAcquire())
    await sleep(700)
    expect((await limiter.state()).inFlight).toBe(1)
    // The key is lost (a renewal may put it back at any moment: that is the point, so no look in between).
    expect(await admin.del(`{${keyPrefix}:concurrency}:concurrency`)).toBe(1)
    await sleep(250)
    expect((await limiter.state()).inFlight).toBe(1)
    lease.release()
    await sleep(400)
    expect((await limiter.state()).inFlight).toBe(0)
    await backend.dispose()
  })

  test('dispose() lets the releases sent just before it reach Redis', async () => {
    const keyPrefix = nextPrefix()
    const spec = { kind: 'concurrency', limit: 1 } as const
    const one = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const lease = granted(await one.create('concurrency', spec).tryAcquire())
    lease.release()
    await one.dispose()
    const two = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    granted(await two.create('concurrency', spec).tryAcquire())
    await two.dispose()
  })

  test('a release in another process wakes a waiter at once (pub/sub), not at its next poll', async () => {
    const keyPrefix = nextPrefix()
    const spec = { kind: 'concurrency', limit: 1 } as const
    const holder = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const waiter = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const lease = granted(await holder.create('concurrency', spec).tryAcquire())
    const waiting = waiter.create('concurrency', spec).acquire(1, { deadline: Date.now() + 5000 })
    await sleep(300) // the waiter is polling and subscribed
    const releasedAt = Date.now()
    lease.release()
    await waiting
    const elapsed = Date.now() - releasedAt
    // Polls are at most 100 ms apart; a wake-up usually arrives within a few ms (loose bound for a loaded machine).
    expect(elapsed).toBeLessThan(100)
    await Promise.all([holder.dispose(), waiter.dispose()])
  })

  test('a reclaim of expired permits by any process wakes the waiters of the others, and they come first', async () => {
    const keyPrefix = nextPrefix()
    const spec = { kind: 'concurrency', limit: 1 } as const
    // The holder stops renewing (as if it crashed): its permit expires 300 ms after the last renewal.
    const holder = redisBackend({ redis: REDIS_URL, prefix: keyPrefix, leaseTtlMs: 300 })
    granted(await holder.create('concurrency', spec).tryAcquire())
    await holder.dispose()
    // The waiter's timers never fire: only a wake-up can make it try again.
    const frozen = { now: () => Date.now(), setTimeout: () => 0, clearTimeout: () => {} }
    const waiter = redisBackend({ redis: REDIS_URL, prefix: keyPrefix, clock: frozen })
    let grantedAt = 0
    const waiting = waiter
      .create('concurrency', spec)
      .acquire()
      .then((lease) => {
        grantedAt = Date.now()
        return lease
      })
    await sleep(500) // the permit has expired; nobody has looked yet
    const other = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const reclaimedAt = Date.now()
    // This call finds the permit expired and reclaims it, but the waiter asked first.
    expect(await other.create('concurrency', spec).tryAcquire()).toMatchObject({ granted: false, reason: 'queue' })
    const lease = await waiting
    expect(grantedAt - reclaimedAt).toBeLessThan(200)
    lease.release()
    await Promise.all([waiter.dispose(), other.dispose()])
  })

  test('reconfigure: the counts stay in Redis, shared: another process with the old values sees them; keys live long enough for the new values', async () => {
    const keyPrefix = nextPrefix()
    const one = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const two = redisBackend({ redis: REDIS_URL, prefix: keyPrefix })
    const rpm = one.create('rpm', { kind: 'sliding_window', windowMs: 1000, limit: 4 })
    const bucket = one.create('bucket', { kind: 'token_bucket', bucketSize: 4, refillPerSecond: 4 })
    granted(await rpm.tryAcquire(3))
    granted(await bucket.tryAcquire(3))
    // Operations issued before the reconfiguration go with the old values: this one is granted under limit 4.
    const issuedBefore = rpm.tryAcquire()
    expect(rpm.reconfigure!({ kind: 'sliding_window', windowMs: 60_000, limit: 3 })).toBe(true)
    granted(await issuedBefore)
    expect(bucket.reconfigure!({ kind: 'token_bucket', bucketSize: 4, refillPerSecond: 0.01 })).toBe(true)
    expect(await rpm.tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
    // The other process still has limit 4 and sees the 4 admissions kept in Redis.
    expect((await two.create('rpm', { kind: 'sliding_window', windowMs: 1000, limit: 4 }).tryAcquire()).granted).toBe(
      false,
    )
    await sleep(50)
    // The keys now outlive a minute's window and a bucket's refill at 0.01 per second (400 s), not 1 s.
    expect(await admin.pttl(`{${keyPrefix}:rpm}:sliding`)).toBeGreaterThan(59_000)
    expect(await admin.pttl(`{${keyPrefix}:bucket}:bucket`)).toBeGreaterThan(300_000)
    await Promise.all([one.dispose(), two.dispose()])
  })

  test('reconfigure: a part of an atomic composite passes its new values to the composite', async () => {
    const backend = redisBackend({ redis: REDIS_URL, prefix: nextPrefix() })
    const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: 60_000, limit: 10 })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 1 })
    const both = backend.composite('instance', [rpm, concurrency])
    granted(await both.tryAcquire())
    expect(await both.tryAcquire()).toMatchObject({ granted: false, reason: 'concurrency' })
    expect(concurrency.reconfigure!({ kind: 'concurrency', limit: 2 })).toBe(true)
    granted(await both.tryAcquire())
    expect(await both.state()).toMatchObject({
      kind: 'composite',
      parts: [
        { limit: 10, available: 8 },
        { limit: 2, available: 0 },
      ],
    })
    await backend.dispose()
  })

  test('options are checked at construction', () => {
    expect(() => redisBackend({ redis: REDIS_URL, prefix: 'a{b' })).toThrow(RangeError)
    expect(() => redisBackend({ redis: REDIS_URL, leaseTtlMs: 0 })).toThrow(RangeError)
    expect(() => redisBackend({ redis: REDIS_URL, commandTimeoutMs: -1 })).toThrow(RangeError)
    expect(() => redisBackend({ redis: REDIS_URL, onUnavailable: 'retry' as 'fail-closed' })).toThrow(RangeError)
    expect(() => redisBackend({ redis: 42 as unknown as string })).toThrow(TypeError)
  })
})
