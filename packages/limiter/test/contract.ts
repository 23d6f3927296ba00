/**
 * The limiter contract, as one suite that runs against every backend (memory with a fake clock, Redis with real
 * Redis and real time). Times are scaled by the harness: `unit` ms is the base window.
 */
import { describe, expect, test } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  type Acquisition,
  type Lease,
  type LimiterBackend,
} from '../src/index'

export interface ContractHarness {
  /** A fresh backend, whose limiter names do not collide with earlier tests'. */
  backend(): Promise<LimiterBackend>
  /** Lets `ms` of the backend's time pass. */
  advance(ms: number): Promise<void>
  /** The backend's current time (for deadlines). */
  now(): number
  /** Base window length in ms: long enough that a test's steps take much less than it on this backend. */
  unit: number
}

function granted(result: Acquisition): Lease {
  expect(result.granted).toBe(true)
  return result as Lease
}

export function describeLimiterContract(name: string, harness: ContractHarness): void {
  const { unit } = harness

  describe(`limiter contract: ${name}`, () => {
    test('token bucket: admits its size at once, then one token per refill period', async () => {
      const backend = await harness.backend()
      // 5 tokens, refilled at 5 per `unit` ms.
      const limiter = backend.create('bucket', {
        kind: 'token_bucket',
        bucketSize: 5,
        refillPerSecond: (5 * 1000) / unit,
      })
      for (let i = 0; i < 5; i++) granted(await limiter.tryAcquire())
      const denied = await limiter.tryAcquire()
      expect(denied.granted).toBe(false)
      if (!denied.granted) {
        expect(denied.reason).toBe('rate')
        expect(denied.retryAfterMs).toBeGreaterThan(0)
        expect(denied.retryAfterMs).toBeLessThanOrEqual(unit / 5 + 1)
      }
      await harness.advance(unit / 5 + 2)
      granted(await limiter.tryAcquire())
      expect((await limiter.tryAcquire()).granted).toBe(false)
      const state = await limiter.state()
      expect(state).toMatchObject({ kind: 'token_bucket', limit: 5, queued: 0 })
      expect(state.available).toBe(0)
      await backend.dispose()
    })

    test('token bucket: cancel gives the tokens back', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('bucket', {
        kind: 'token_bucket',
        bucketSize: 2,
        refillPerSecond: 1000 / (unit * 100),
      })
      const first = granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      first.cancel()
      first.cancel()
      await flushBackend()
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      await backend.dispose()
    })

    test('fixed window: admits max_requests per window, again in the next one', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('window', { kind: 'fixed_window', windowMs: unit, maxRequests: 3 })
      let admitted = 0
      for (let i = 0; i < 5; i++) if ((await limiter.tryAcquire()).granted) admitted++
      expect(admitted).toBe(3)
      const denied = await limiter.tryAcquire()
      expect(denied.granted === false && denied.retryAfterMs).toBeGreaterThan(0)
      expect(denied.granted === false && denied.retryAfterMs).toBeLessThanOrEqual(unit + 1)
      await harness.advance(unit + 2)
      granted(await limiter.tryAcquire())
      await backend.dispose()
    })

    test('sliding window: no span of the window admits more than the limit', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit, limit: 4 })
      for (let i = 0; i < 4; i++) granted(await limiter.tryAcquire())
      await harness.advance(unit / 2)
      const denied = await limiter.tryAcquire()
      expect(denied.granted).toBe(false)
      // The oldest admission leaves the window about half a window from now.
      if (!denied.granted) {
        expect(denied.retryAfterMs).toBeGreaterThan(0)
        expect(denied.retryAfterMs).toBeLessThanOrEqual(unit / 2 + 1)
      }
      await harness.advance(unit / 2 + 2)
      for (let i = 0; i < 4; i++) granted(await limiter.tryAcquire())
      expect((await limiter.tryAcquire()).granted).toBe(false)
      await backend.dispose()
    })

    test('sliding window: a weight takes that many slots', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit, limit: 5 })
      granted(await limiter.tryAcquire(3))
      expect((await limiter.tryAcquire(3)).granted).toBe(false)
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire(1)).granted).toBe(false)
      await backend.dispose()
    })

    test('concurrency: permits come back on release, once', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('concurrency', { kind: 'concurrency', limit: 2 })
      const a = granted(await limiter.tryAcquire())
      granted(await limiter.tryAcquire())
      const denied = await limiter.tryAcquire()
      expect(denied).toMatchObject({ granted: false, reason: 'concurrency' })
      expect((await limiter.state()).inFlight).toBe(2)
      a.release()
      a.release()
      await flushBackend()
      granted(await limiter.tryAcquire())
      expect((await limiter.tryAcquire()).granted).toBe(false)
      await backend.dispose()
    })

    test('acquire: waiters are served first in, first out', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('fifo', { kind: 'concurrency', limit: 1 })
      const first = granted(await limiter.tryAcquire())
      const order: string[] = []
      const waiters = ['b', 'c', 'd'].map((id) =>
        limiter.acquire(1).then((lease) => {
          order.push(id)
          return lease
        }),
      )
      await flushBackend()
      expect((await limiter.tryAcquire()).granted).toBe(false)
      first.release()
      const b = await waiters[0]!
      expect(order).toEqual(['b'])
      b.release()
      const c = await waiters[1]!
      c.release()
      ;(await waiters[2]!).release()
      expect(order).toEqual(['b', 'c', 'd'])
      await backend.dispose()
    })

    test('acquire: a waiter waits for the window to pass', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit, limit: 1 })
      granted(await limiter.tryAcquire())
      const started = harness.now()
      const waiting = limiter.acquire(1, { deadline: started + unit * 3 })
      await harness.advance(unit + 5)
      const lease = await waiting
      expect(lease.granted).toBe(true)
      expect(harness.now() - started).toBeGreaterThanOrEqual(unit - 1)
      await backend.dispose()
    })

    test('acquire: an aborted waiter leaves the queue and never takes capacity', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('abort', { kind: 'concurrency', limit: 1 })
      const holder = granted(await limiter.tryAcquire())
      const controller = new AbortController()
      const aborted = limiter.acquire(1, { signal: controller.signal })
      const next = limiter.acquire(1)
      await flushBackend()
      controller.abort(new Error('caller gave up'))
      const error = await aborted.catch((caught: unknown) => caught)
      expect(AcquireAbortedError.isInstance(error)).toBe(true)
      holder.release()
      const lease = await next
      expect((await limiter.state()).inFlight).toBe(1)
      expect((await limiter.state()).queued).toBe(0)
      lease.release()
      await flushBackend()
      expect((await limiter.state()).inFlight).toBe(0)
      await backend.dispose()
    })

    test('acquire: rejects with AcquireTimeoutError at the deadline', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('deadline', { kind: 'concurrency', limit: 1 })
      granted(await limiter.tryAcquire())
      const waiting = limiter.acquire(1, { deadline: harness.now() + unit / 2 })
      const settled = waiting.then(
        () => 'granted',
        (error: unknown) => (AcquireTimeoutError.isInstance(error) ? 'timeout' : error),
      )
      await harness.advance(unit / 2 + 5)
      expect(await settled).toBe('timeout')
      expect((await limiter.state()).queued).toBe(0)
      await backend.dispose()
    })

    test('acquire: a rate limit that cannot recover before the deadline fails at once', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit * 100, limit: 1 })
      granted(await limiter.tryAcquire())
      const error = await limiter.acquire(1, { deadline: harness.now() + unit / 4 }).catch((caught: unknown) => caught)
      expect(AcquireTimeoutError.isInstance(error)).toBe(true)
      expect((error as AcquireTimeoutError).retryAfterMs).toBeGreaterThan(unit)
      await backend.dispose()
    })

    test('composite: all or nothing', async () => {
      const backend = await harness.backend()
      const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: unit * 10, limit: 2 })
      const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 5 })
      const both = backend.composite('instance', [rpm, concurrency])
      granted(await both.tryAcquire())
      granted(await both.tryAcquire())
      const denied = await both.tryAcquire()
      expect(denied).toMatchObject({ granted: false, reason: 'rate' })
      // The denied attempt holds no concurrency permit.
      expect((await concurrency.state()).inFlight).toBe(2)
      expect((await concurrency.state()).available).toBe(3)
      await backend.dispose()
    })

    test('composite: a concurrency part short denies and takes no rate capacity', async () => {
      const backend = await harness.backend()
      const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: unit * 10, limit: 10 })
      const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 1 })
      const both = backend.composite('instance', [rpm, concurrency])
      const lease = granted(await both.tryAcquire())
      expect(await both.tryAcquire()).toMatchObject({ granted: false })
      expect((await rpm.state()).available).toBe(9)
      lease.release()
      await flushBackend()
      granted(await both.tryAcquire())
      expect((await rpm.state()).available).toBe(8)
      await backend.dispose()
    })

    test('weights outside 1..capacity are a RangeError', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('bucket', { kind: 'token_bucket', bucketSize: 3, refillPerSecond: 1 })
      await expect(async () => limiter.tryAcquire(4)).rejects.toThrow(RangeError)
      await expect(async () => limiter.tryAcquire(0)).rejects.toThrow(RangeError)
      await expect(limiter.acquire(1.5)).rejects.toThrow(RangeError)
      await backend.dispose()
    })

    test('reconfigure: a concurrency limit applies to the permits held', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('concurrency', { kind: 'concurrency', limit: 2 })
      const held = [granted(await limiter.tryAcquire()), granted(await limiter.tryAcquire())]
      expect((await limiter.tryAcquire()).granted).toBe(false)
      // Raised to 3: one more.
      expect(limiter.reconfigure!({ kind: 'concurrency', limit: 3 })).toBe(true)
      held.push(granted(await limiter.tryAcquire()))
      expect(await limiter.tryAcquire()).toMatchObject({ granted: false, reason: 'concurrency' })
      expect(await limiter.state()).toMatchObject({ kind: 'concurrency', limit: 3, available: 0, inFlight: 3 })
      // Lowered to 1 with 3 held: none until two are released... (a list of one spec, as the router passes it)
      expect(limiter.reconfigure!([{ kind: 'concurrency', limit: 1 }])).toBe(true)
      held.pop()!.release()
      await flushBackend()
      expect((await limiter.tryAcquire()).granted).toBe(false)
      held.pop()!.release()
      await flushBackend()
      expect((await limiter.tryAcquire()).granted).toBe(false)
      // ...and the third: then one.
      held.pop()!.release()
      await flushBackend()
      granted(await limiter.tryAcquire())
      expect((await limiter.tryAcquire()).granted).toBe(false)
      await backend.dispose()
    })

    test('reconfigure: a lowered sliding window limit waits until the window frees enough of the kept entries', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit, limit: 5 })
      granted(await limiter.tryAcquire(2))
      await harness.advance(unit / 2)
      granted(await limiter.tryAcquire(3))
      expect(limiter.reconfigure!({ kind: 'sliding_window', windowMs: unit, limit: 3 })).toBe(true)
      // 5 in the window, limit 3: denied until 3 have left — the third oldest, taken half a window ago, leaves last.
      const denied = await limiter.tryAcquire()
      expect(denied).toMatchObject({ granted: false, reason: 'rate' })
      if (!denied.granted) expect(denied.retryAfterMs).toBeGreaterThan(unit / 2 + 5)
      expect(await limiter.state()).toMatchObject({ limit: 3, available: 0 })
      // The first two left: 3 still in the window.
      await harness.advance(unit / 2 + 10)
      expect((await limiter.tryAcquire()).granted).toBe(false)
      // All left: 3 at once, not more.
      await harness.advance(unit / 2 + 10)
      granted(await limiter.tryAcquire(3))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      await backend.dispose()
    })

    test('reconfigure: a raised sliding window limit admits more at once; a longer window keeps the entries longer', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit, limit: 2 })
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      expect(limiter.reconfigure!({ kind: 'sliding_window', windowMs: unit * 3, limit: 4 })).toBe(true)
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      // A window of `unit` would have let the first two go by now.
      await harness.advance(unit + 10)
      const denied = await limiter.tryAcquire()
      expect(denied.granted).toBe(false)
      if (!denied.granted) expect(denied.retryAfterMs).toBeGreaterThan(unit)
      await backend.dispose()
    })

    test('reconfigure: a token bucket keeps its tokens, capped at a smaller size, and refills at the new rate', async () => {
      const backend = await harness.backend()
      // A slow refill: nothing comes back during the test's steps.
      const limiter = backend.create('bucket', {
        kind: 'token_bucket',
        bucketSize: 5,
        refillPerSecond: 1000 / (unit * 100),
      })
      granted(await limiter.tryAcquire(1))
      // 4 left; capped at 2.
      expect(limiter.reconfigure!({ kind: 'token_bucket', bucketSize: 2, refillPerSecond: 1000 / (unit * 100) })).toBe(
        true,
      )
      expect(await limiter.state()).toMatchObject({ kind: 'token_bucket', limit: 2, available: 2 })
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      // A larger size keeps the tokens held (none), and a faster rate refills them: one per unit / 4.
      expect(limiter.reconfigure!({ kind: 'token_bucket', bucketSize: 8, refillPerSecond: (4 * 1000) / unit })).toBe(
        true,
      )
      const denied = await limiter.tryAcquire()
      expect(denied.granted).toBe(false)
      if (!denied.granted) expect(denied.retryAfterMs).toBeLessThanOrEqual(unit / 4 + 1)
      await harness.advance(unit / 2 + 5)
      granted(await limiter.tryAcquire(2))
      await backend.dispose()
    })

    test('reconfigure: a fixed window applies a new maximum to its count; a new length from the next window', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('window', { kind: 'fixed_window', windowMs: unit, maxRequests: 3 })
      granted(await limiter.tryAcquire(3))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      expect(limiter.reconfigure!({ kind: 'fixed_window', windowMs: unit, maxRequests: 5 })).toBe(true)
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      expect(limiter.reconfigure!({ kind: 'fixed_window', windowMs: unit * 100, maxRequests: 4 })).toBe(true)
      // The count of 5 stays until the window in progress ends, at its own end (within one `unit`).
      const denied = await limiter.tryAcquire()
      expect(denied.granted).toBe(false)
      if (!denied.granted) expect(denied.retryAfterMs).toBeLessThanOrEqual(unit + 1)
      expect(await limiter.state()).toMatchObject({ limit: 4, available: 0 })
      await harness.advance(unit + 5)
      granted(await limiter.tryAcquire(4))
      await backend.dispose()
    })

    test('reconfigure: a waiter gets capacity a raised limit frees; a waiter heavier than a lowered one rejects', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('waiters', { kind: 'concurrency', limit: 1 })
      granted(await limiter.tryAcquire())
      const waiting = limiter.acquire(1, { deadline: harness.now() + unit * 10 })
      await flushBackend()
      limiter.reconfigure!({ kind: 'concurrency', limit: 2 })
      ;(await waiting).release()
      await flushBackend()
      const heavy = limiter.acquire(2, { deadline: harness.now() + unit * 10 }).catch((error: unknown) => error)
      await flushBackend()
      limiter.reconfigure!({ kind: 'concurrency', limit: 1 })
      expect(await heavy).toBeInstanceOf(RangeError)
      await backend.dispose()
    })

    test('reconfigure: another kind, or another number of specs, is refused and changes nothing; a bad value throws', async () => {
      const backend = await harness.backend()
      const limiter = backend.create('rpm', { kind: 'sliding_window', windowMs: unit * 10, limit: 2 })
      expect(limiter.reconfigure!({ kind: 'concurrency', limit: 5 })).toBe(false)
      expect(limiter.reconfigure!([])).toBe(false)
      expect(
        limiter.reconfigure!([
          { kind: 'sliding_window', windowMs: unit * 10, limit: 5 },
          { kind: 'sliding_window', windowMs: unit * 10, limit: 5 },
        ]),
      ).toBe(false)
      expect(() => limiter.reconfigure!({ kind: 'sliding_window', windowMs: unit * 10, limit: 0 })).toThrow(RangeError)
      expect(() => limiter.reconfigure!({ kind: 'sliding_window', windowMs: -1, limit: 5 })).toThrow(RangeError)
      granted(await limiter.tryAcquire(2))
      expect((await limiter.tryAcquire()).granted).toBe(false)
      expect((await limiter.state()).limit).toBe(2)
      await backend.dispose()
    })

    test("reconfigure: a composite takes one spec per part, in the parts' order, all or nothing", async () => {
      const backend = await harness.backend()
      const rpm = backend.create('rpm', { kind: 'sliding_window', windowMs: unit * 10, limit: 2 })
      const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: 1 })
      const both = backend.composite('instance', [rpm, concurrency])
      const first = granted(await both.tryAcquire())
      expect(await both.tryAcquire()).toMatchObject({ granted: false, reason: 'concurrency' })
      // Not in the parts' order, not one per part, or a bad value: nothing changes.
      expect(
        both.reconfigure!([
          { kind: 'concurrency', limit: 3 },
          { kind: 'sliding_window', windowMs: unit * 10, limit: 3 },
        ]),
      ).toBe(false)
      expect(both.reconfigure!({ kind: 'concurrency', limit: 3 })).toBe(false)
      expect(() =>
        both.reconfigure!([
          { kind: 'sliding_window', windowMs: unit * 10, limit: 3 },
          { kind: 'concurrency', limit: 0 },
        ]),
      ).toThrow(RangeError)
      expect((await both.tryAcquire()).granted).toBe(false)
      expect((await rpm.state()).limit).toBe(2)
      // What the router passes on a reload: the instance's specs, in the order its parts were made.
      expect(
        both.reconfigure!([
          { kind: 'sliding_window', windowMs: unit * 10, limit: 3 },
          { kind: 'concurrency', limit: 4 },
        ]),
      ).toBe(true)
      granted(await both.tryAcquire())
      granted(await both.tryAcquire())
      // The rpm part is full (3 in its window); the concurrency part has one left.
      expect(await both.tryAcquire()).toMatchObject({ granted: false, reason: 'rate' })
      expect(await concurrency.state()).toMatchObject({ limit: 4, inFlight: 3, available: 1 })
      expect(await rpm.state()).toMatchObject({ limit: 3, available: 0 })
      first.release()
      await backend.dispose()
    })

    test('bad specs are a RangeError', async () => {
      const backend = await harness.backend()
      expect(() => backend.create('x', { kind: 'concurrency', limit: 0 })).toThrow(RangeError)
      expect(() => backend.create('x', { kind: 'sliding_window', windowMs: 0, limit: 1 })).toThrow(RangeError)
      expect(() => backend.create('x', { kind: 'token_bucket', bucketSize: 1, refillPerSecond: -1 })).toThrow(
        RangeError,
      )
      expect(() => backend.create('x', { kind: 'fixed_window', windowMs: 10, maxRequests: 1.5 })).toThrow(RangeError)
      await backend.dispose()
    })
  })
}

/** Lets a backend's asynchronous release reach it (Redis); a no-op in effect for memory. */
async function flushBackend(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}
