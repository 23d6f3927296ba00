/** Invariants of the memory limiters over random arrival schedules (fast-check, fake clock). */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  AcquireAbortedError,
  ConcurrencyLimiter,
  FixedWindowLimiter,
  type Lease,
  SlidingWindowLimiter,
  TokenBucketLimiter,
} from '../src/index'
import { FakeClock, flushMicrotasks as flush } from '@llmpool/testing'

/** Gaps between arrivals (ms) and the weight of each. */
const arrivals = fc.array(
  fc.record({ gap: fc.integer({ min: 0, max: 400 }), weight: fc.integer({ min: 1, max: 3 }) }),
  {
    minLength: 1,
    maxLength: 300,
  },
)

describe('memory limiter invariants', () => {
  test('sliding window: no span of the window ever admits more than the limit', () => {
    fc.assert(
      fc.property(
        arrivals,
        fc.integer({ min: 3, max: 20 }),
        fc.integer({ min: 100, max: 2000 }),
        (schedule, limit, windowMs) => {
          const clock = new FakeClock()
          const limiter = new SlidingWindowLimiter('rpm', windowMs, limit, clock)
          const admitted: number[] = []
          for (const { gap, weight } of schedule) {
            clock.tick(gap)
            const result = limiter.tryAcquire(weight)
            if (result.granted) for (let i = 0; i < weight; i++) admitted.push(clock.now())
          }
          // Every span [t, t + windowMs) that starts at an admission holds at most `limit` admissions.
          for (let start = 0; start < admitted.length; start++) {
            let count = 0
            for (let j = start; j < admitted.length && admitted[j]! < admitted[start]! + windowMs; j++) count++
            expect(count).toBeLessThanOrEqual(limit)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  test('sliding window, reconfigured at random: every admission fits the limit and window in force then', () => {
    // New limits, up or down, and windows no longer than before (a longer window does not bring back admissions that
    // had left the shorter one: see docs/limits.md).
    const steps = fc.array(
      fc.oneof(
        fc.record({ gap: fc.integer({ min: 0, max: 400 }), weight: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ limit: fc.integer({ min: 1, max: 20 }), percent: fc.integer({ min: 50, max: 100 }) }),
      ),
      { minLength: 1, maxLength: 300 },
    )
    fc.assert(
      fc.property(
        steps,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 100, max: 4000 }),
        (schedule, initialLimit, initialWindowMs) => {
          const clock = new FakeClock()
          let limit = initialLimit
          let windowMs = initialWindowMs
          const limiter = new SlidingWindowLimiter('rpm', windowMs, limit, clock)
          const admitted: number[] = []
          for (const step of schedule) {
            let granted = false
            if ('limit' in step) {
              limit = step.limit
              windowMs = Math.max(1, Math.round((windowMs * step.percent) / 100))
              expect(limiter.reconfigure({ kind: 'sliding_window', windowMs, limit })).toBe(true)
            } else {
              clock.tick(step.gap)
              const result = limiter.tryAcquire(Math.min(step.weight, limit))
              granted = result.granted
              if (result.granted) for (let i = 0; i < result.weight; i++) admitted.push(clock.now())
            }
            const now = clock.now()
            const inWindow = admitted.filter((at) => at > now - windowMs).length
            if (granted) expect(inWindow).toBeLessThanOrEqual(limit)
            expect(limiter.state().available).toBe(Math.max(0, limit - inWindow))
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  test('sliding window: its state (available, next refill) counts what the window holds, also after the clock went back', () => {
    // Gaps below zero: a wall clock stepped back. Cancelled leases: refunds of the latest acquisition.
    const steps = fc.array(
      fc.record({
        gap: fc.integer({ min: -300, max: 400 }),
        weight: fc.integer({ min: 1, max: 3 }),
        cancel: fc.boolean(),
      }),
      { minLength: 1, maxLength: 200 },
    )
    fc.assert(
      fc.property(
        steps,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 100, max: 2000 }),
        (schedule, limit, windowMs) => {
          let time = 1_000_000
          const clock = { now: () => time, setTimeout: () => 0, clearTimeout: () => undefined }
          const limiter = new SlidingWindowLimiter('rpm', windowMs, limit, clock)
          /** Admission times, in the order they were made. */
          const admitted: number[] = []
          for (const { gap, weight, cancel } of schedule) {
            time += gap
            const result = limiter.tryAcquire(Math.min(weight, limit))
            if (result.granted) {
              if (cancel) result.cancel()
              else for (let i = 0; i < result.weight; i++) admitted.push(time)
            }
            // The ring keeps the last `limit` admissions; those still in the window count.
            const kept = admitted.slice(-limit)
            const inWindow = kept.filter((at) => at + windowMs > time)
            const state = limiter.state()
            expect(state.available).toBe(Math.max(0, limit - inWindow.length))
            const oldest = kept.length < limit ? Number.NEGATIVE_INFINITY : kept[0]!
            const expected =
              oldest + windowMs > time
                ? oldest + windowMs - time
                : inWindow.length > 0
                  ? inWindow[0]! + windowMs - time
                  : undefined
            expect(state.nextRefillMs).toBe(expected)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  test('sliding window: a denial is exact — capacity is there once retryAfterMs has passed', () => {
    fc.assert(
      fc.property(arrivals, fc.integer({ min: 1, max: 10 }), (schedule, limit) => {
        const clock = new FakeClock()
        const limiter = new SlidingWindowLimiter('rpm', 1000, limit, clock)
        for (const { gap } of schedule) {
          clock.tick(gap)
          const result = limiter.tryAcquire()
          if (!result.granted) {
            clock.tick(result.retryAfterMs)
            expect(limiter.tryAcquire().granted).toBe(true)
          }
        }
      }),
      { numRuns: 100 },
    )
  })

  test('fixed window: no aligned window admits more than max_requests', () => {
    fc.assert(
      fc.property(
        arrivals,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 100, max: 2000 }),
        (schedule, max, windowMs) => {
          const clock = new FakeClock()
          const limiter = new FixedWindowLimiter('window', windowMs, max, clock)
          const perWindow = new Map<number, number>()
          for (const { gap, weight } of schedule) {
            clock.tick(gap)
            if (weight > max) continue
            if (limiter.tryAcquire(weight).granted) {
              const window = Math.floor(clock.now() / windowMs)
              perWindow.set(window, (perWindow.get(window) ?? 0) + weight)
            }
          }
          for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(max)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('token bucket: tokens stay within [0, size], and admissions never exceed size + rate × time', () => {
    fc.assert(
      fc.property(
        arrivals,
        fc.integer({ min: 3, max: 50 }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        (schedule, size, rate) => {
          const clock = new FakeClock()
          const start = clock.now()
          const limiter = new TokenBucketLimiter('bucket', size, rate, clock)
          let admitted = 0
          for (const { gap, weight } of schedule) {
            clock.tick(gap)
            if (limiter.tryAcquire(weight).granted) admitted += weight
            const { available } = limiter.state()
            expect(available).toBeGreaterThanOrEqual(0)
            expect(available).toBeLessThanOrEqual(size)
          }
          expect(admitted).toBeLessThanOrEqual(size + (rate * (clock.now() - start)) / 1000 + 1e-9)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('concurrency: in flight never exceeds the limit, whatever the order of acquisitions and releases', () => {
    const operations = fc.array(fc.oneof(fc.constant('acquire' as const), fc.nat({ max: 50 })), { maxLength: 300 })
    fc.assert(
      fc.property(operations, fc.integer({ min: 1, max: 8 }), (ops, limit) => {
        const limiter = new ConcurrencyLimiter('concurrency', limit, new FakeClock())
        const held: Lease[] = []
        for (const op of ops) {
          if (op === 'acquire') {
            const result = limiter.tryAcquire()
            if (result.granted) held.push(result)
          } else if (held.length > 0) {
            const [lease] = held.splice(op % held.length, 1)
            lease!.release()
            lease!.release()
          }
          expect(limiter.state().inFlight).toBe(held.length)
          expect(held.length).toBeLessThanOrEqual(limit)
          expect(limiter.state().available).toBe(limit - held.length)
        }
      }),
      { numRuns: 300 },
    )
  })

  test('concurrency, reconfigured at random: a grant never takes in flight above the limit in force', () => {
    const operations = fc.array(
      fc.oneof(
        fc.constant('acquire' as const),
        fc.nat({ max: 50 }),
        fc.record({ limit: fc.integer({ min: 1, max: 8 }) }),
      ),
      {
        maxLength: 300,
      },
    )
    fc.assert(
      fc.property(operations, (ops) => {
        let limit = 4
        const limiter = new ConcurrencyLimiter('concurrency', limit, new FakeClock())
        const held: Lease[] = []
        for (const op of ops) {
          if (op === 'acquire') {
            const result = limiter.tryAcquire()
            if (result.granted) {
              held.push(result)
              expect(held.length).toBeLessThanOrEqual(limit)
            }
          } else if (typeof op === 'object') {
            limit = op.limit
            limiter.reconfigure({ kind: 'concurrency', limit })
          } else if (held.length > 0) {
            held.splice(op % held.length, 1)[0]!.release()
          }
          expect(limiter.state()).toMatchObject({
            limit,
            inFlight: held.length,
            available: Math.max(0, limit - held.length),
          })
        }
      }),
      { numRuns: 300 },
    )
  })

  test('waiters are served in FIFO order, and an aborted waiter never consumes capacity later', async () => {
    const scenario = fc.array(fc.record({ abort: fc.boolean(), hold: fc.integer({ min: 1, max: 50 }) }), {
      minLength: 1,
      maxLength: 30,
    })
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 3 }), async (waiters, limit) => {
        const clock = new FakeClock()
        const limiter = new ConcurrencyLimiter('fifo', limit, clock)
        const blockers = Array.from({ length: limit }, () => limiter.tryAcquire() as Lease)
        const served: number[] = []
        const controllers = waiters.map(() => new AbortController())
        const pending = waiters.map(({ hold }, index) =>
          limiter.acquire(1, { signal: controllers[index]!.signal }).then(
            (lease) => {
              served.push(index)
              clock.setTimeout(() => lease.release(), hold)
              return 'served'
            },
            (error: unknown) => (AcquireAbortedError.isInstance(error) ? 'aborted' : error),
          ),
        )
        waiters.forEach(({ abort }, index) => abort && controllers[index]!.abort())
        await flush()
        for (const blocker of blockers) blocker.release()
        await clock.advance(50 * waiters.length + 100)
        const outcomes = await Promise.all(pending)
        const expected = waiters.map((_, index) => index).filter((index) => !waiters[index]!.abort)
        expect(served).toEqual(expected)
        outcomes.forEach((outcome, index) => expect(outcome).toBe(waiters[index]!.abort ? 'aborted' : 'served'))
        expect(limiter.state()).toMatchObject({ inFlight: 0, queued: 0, available: limit })
      }),
      { numRuns: 150 },
    )
  })
})
