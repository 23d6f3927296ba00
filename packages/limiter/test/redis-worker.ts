/**
 * A separate Node process for redis.multiprocess.test.ts (forked through tsx). It hammers a shared sliding window
 * and a shared concurrency limit through the Redis backend and records each admission in the test's own Redis
 * keys, apart from the limiter's, so that the test measures the limits independently:
 * - sliding window: `<counters>:admissions`, a sorted set of `[a, b]` intervals (Date.now() before the try and after
 *   its reply: the admission happened inside, by Redis TIME, which on this machine reads the same clock);
 * - concurrency: `<counters>:inflight` is INCR'd after each grant and DECR'd before each release, and
 *   `<counters>:max` keeps the highest value INCR returned. Measured in-flight ≤ true in-flight at every moment.
 * It reports progress to the test over IPC.
 */
import { Redis } from 'ioredis'
import {
  AcquireTimeoutError,
  type LimitSpec,
  LimiterUnavailableError,
  type RedisBackendEvent,
  redisBackend,
  type UnavailablePolicy,
} from '../src/index'

export interface WorkerConfig {
  /**
   * `hammer`: loops until stopped; `hold`: takes every concurrency permit, reports `held`, then waits to be killed;
   * `share`: reports `ready`, and on `go` runs `share.lanes` acquire loops on one limiter for `share.durationMs`,
   * then reports its grants.
   */
  mode: 'hammer' | 'hold' | 'share'
  url: string
  prefix: string
  /** Where the test's own counters live (omit to skip them, e.g. on a Redis the test restarts). */
  counters?: string
  policy: UnavailablePolicy
  /** The backend's lease ttl; undefined: its default. */
  leaseTtlMs: number | undefined
  windowMs: number
  windowLimit: number
  concurrencyLimit: number
  windowLanes: number
  concurrencyLanes: number
  maxHoldMs: number
  /** For `share`: the limit the processes compete for, and how each of its lanes uses it. */
  share?: { spec: LimitSpec; lanes: number; holdMs: number; durationMs: number }
}

export type WorkerMessage =
  | {
      type: 'progress'
      windowGrants: number
      concurrencyGrants: number
      unavailable: number
      timeouts: number
      lastGrantAt: number
      events: RedisBackendEvent['type'][]
    }
  | { type: 'held' }
  | { type: 'ready' }
  | { type: 'shared'; grants: number; timeouts: number }

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const send = (message: WorkerMessage) => process.send?.(message)
process.on('disconnect', () => process.exit(0))

const events: RedisBackendEvent['type'][] = []
const backend = redisBackend({
  redis: config.url,
  prefix: config.prefix,
  leaseTtlMs: config.leaseTtlMs,
  onUnavailable: config.policy,
  commandTimeoutMs: 500,
  onEvent: (event) => events.push(event.type),
})
const window = backend.create('rpm', { kind: 'sliding_window', windowMs: config.windowMs, limit: config.windowLimit })
const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: config.concurrencyLimit })

const stats = { windowGrants: 0, concurrencyGrants: 0, unavailable: 0, timeouts: 0, lastGrantAt: 0 }
let stopped = false
process.on('message', (message) => {
  if (message === 'stop') stopped = true
})

const counters = config.counters ? new Redis(config.url) : undefined
counters?.defineCommand('incrMax', {
  numberOfKeys: 2,
  lua: `local v = redis.call('INCR', KEYS[1])
if v > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], v) end
return v`,
})
const incrMax = (
  counters as unknown as { incrMax(inflight: string, max: string): Promise<number> } | undefined
)?.incrMax.bind(counters)

function failed(error: unknown): Promise<void> {
  if (LimiterUnavailableError.isInstance(error)) stats.unavailable++
  else if (AcquireTimeoutError.isInstance(error)) stats.timeouts++
  else throw error
  return sleep(20)
}

let sequence = 0
async function windowLane(): Promise<void> {
  while (!stopped) {
    try {
      const before = Date.now()
      const result = await window.tryAcquire()
      const after = Date.now()
      if (!result.granted) {
        await sleep(Math.min(result.retryAfterMs, 50))
        continue
      }
      stats.windowGrants++
      stats.lastGrantAt = after
      await counters?.zadd(`${config.counters}:admissions`, after, `${process.pid}:${++sequence}:${before}:${after}`)
    } catch (error) {
      await failed(error)
    }
  }
}

async function concurrencyLane(): Promise<void> {
  while (!stopped) {
    try {
      const lease = await concurrency.acquire(1, { deadline: Date.now() + 2000 })
      stats.concurrencyGrants++
      stats.lastGrantAt = Date.now()
      if (incrMax) await incrMax(`${config.counters}:inflight`, `${config.counters}:max`)
      await sleep(Math.random() * config.maxHoldMs)
      if (counters) await counters.decr(`${config.counters}:inflight`)
      lease.release()
    } catch (error) {
      await failed(error)
    }
  }
}

/** `share` mode: every lane acquires, holds for `holdMs`, releases, and at once acquires again. */
async function share(options: NonNullable<WorkerConfig['share']>): Promise<void> {
  const limiter = backend.create('shared', options.spec)
  await limiter.state() // connected, scripts loaded
  send({ type: 'ready' })
  await new Promise<void>((resolve) => process.once('message', () => resolve()))
  const until = Date.now() + options.durationMs
  let grants = 0
  let timeouts = 0
  await Promise.all(
    Array.from({ length: options.lanes }, async () => {
      while (Date.now() < until) {
        try {
          const lease = await limiter.acquire(1, { deadline: until })
          if (Date.now() >= until) {
            lease.cancel()
            break
          }
          grants++
          if (options.holdMs > 0) await sleep(options.holdMs)
          lease.release()
        } catch (error) {
          if (!AcquireTimeoutError.isInstance(error)) throw error
          timeouts++
        }
      }
    }),
  )
  send({ type: 'shared', grants, timeouts })
  await backend.dispose()
  process.disconnect()
}

async function main(): Promise<void> {
  if (config.mode === 'share') return share(config.share!)
  if (config.mode === 'hold') {
    for (let i = 0; i < config.concurrencyLimit; i++) await concurrency.acquire(1, { deadline: Date.now() + 10_000 })
    send({ type: 'held' })
    await new Promise(() => {}) // until killed
  }
  const report = setInterval(() => send({ type: 'progress', ...stats, events }), 100)
  await Promise.all([
    ...Array.from({ length: config.windowLanes }, windowLane),
    ...Array.from({ length: config.concurrencyLanes }, concurrencyLane),
  ])
  clearInterval(report)
  send({ type: 'progress', ...stats, events })
  await backend.dispose()
  counters?.disconnect()
  process.disconnect()
}

void main()
