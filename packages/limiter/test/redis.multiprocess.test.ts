/**
 * Several Node processes share limits through Redis. The limits are measured by the test's own counters (see
 * redis-worker.ts), never read back from the limiter's keys.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { type RedisServer, startRedisServer } from '@llmpool/testing'
import { afterAll, describe, expect, test } from 'vitest'
import { redisBackend } from '../src/index'
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-keys'
import type { WorkerConfig, WorkerMessage } from './redis-worker'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const workerPath = fileURLToPath(new URL('./redis-worker.ts', import.meta.url))
const prefix = uniquePrefix('multiprocess')
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await deleteKeys(REDIS_URL, prefix)
})

type Progress = Extract<WorkerMessage, { type: 'progress' }>

interface Worker {
  child: ChildProcess
  progress: Progress
  exited: Promise<unknown>
}

const baseConfig: Omit<WorkerConfig, 'prefix'> = {
  mode: 'hammer',
  url: REDIS_URL,
  policy: 'fail-closed',
  leaseTtlMs: 30_000,
  windowMs: 1000,
  windowLimit: 20,
  concurrencyLimit: 4,
  windowLanes: 2,
  concurrencyLanes: 3,
  maxHoldMs: 40,
}

function startWorker(config: WorkerConfig): Worker {
  const child = fork(workerPath, [JSON.stringify(config)], {
    cwd: root,
    execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  const worker: Worker = {
    child,
    progress: {
      type: 'progress',
      windowGrants: 0,
      concurrencyGrants: 0,
      unavailable: 0,
      timeouts: 0,
      lastGrantAt: 0,
      events: [],
    },
    exited: once(child, 'exit').finally(() => children.delete(child)),
  }
  child.on('message', (message: WorkerMessage) => {
    if (message.type === 'progress') worker.progress = message
  })
  return worker
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const worker of workers) worker.child.send('stop')
  await Promise.all(workers.map((worker) => worker.exited))
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await sleep(20)
  }
  return Date.now() - started
}

/**
 * The most admissions that certainly fell within one window: admission i happened somewhere in [a_i, b_i], so a set
 * whose latest b minus earliest a is below the window span less than a window — a sound test (no false alarm from
 * round-trip jitter) that still sees any real excess, since the intervals are a few milliseconds wide.
 */
function mostCertainlyInOneWindow(intervals: { a: number; b: number }[], windowMs: number): number {
  const sorted = [...intervals].sort((x, y) => x.a - y.a)
  let most = 0
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!.a
    let count = 0
    for (let j = i; j < sorted.length; j++) if (sorted[j]!.b < start + windowMs) count++
    most = Math.max(most, count)
  }
  return most
}

describe('redis backend across processes', () => {
  test('3 processes never exceed a shared sliding window nor a shared concurrency limit', async () => {
    const run = `${prefix}-limits`
    const counters = `${prefix}:counters`
    const workers = [0, 1, 2].map(() => startWorker({ ...baseConfig, prefix: run, counters }))
    await until(() => workers.every((worker) => worker.progress.windowGrants > 0), 15_000, 'every worker started')
    const started = Date.now()
    const grantsBefore = workers.map((worker) => worker.progress.concurrencyGrants)
    await sleep(3000)
    const grantsDuring = workers.map((worker, i) => worker.progress.concurrencyGrants - grantsBefore[i]!)
    await stopWorkers(workers)
    const seconds = (Date.now() - started) / 1000

    const client = new Redis(REDIS_URL)
    const members = await client.zrange(`${counters}:admissions`, 0, -1)
    const maxInFlight = Number(await client.get(`${counters}:max`))
    const inFlightNow = Number(await client.get(`${counters}:inflight`))
    client.disconnect()

    const intervals = members.map((member) => {
      const [, , a, b] = member.split(':').map(Number)
      return { a: a!, b: b! }
    })
    const widest = Math.max(...intervals.map(({ a, b }) => b - a))
    console.log(
      `sliding window: ${intervals.length} admissions in ${seconds.toFixed(1)} s (limit ${baseConfig.windowLimit}/s), widest interval ${widest} ms; ` +
        `concurrency: max in flight ${maxInFlight} (limit ${baseConfig.concurrencyLimit}), ` +
        `${grantsDuring.join('+')} grants in the last 3 s`,
    )
    expect(mostCertainlyInOneWindow(intervals, baseConfig.windowMs)).toBeLessThanOrEqual(baseConfig.windowLimit)
    expect(maxInFlight).toBeLessThanOrEqual(baseConfig.concurrencyLimit)
    expect(inFlightNow).toBe(0)
    // Real progress: the window admits close to its limit and the permits are contended.
    expect(intervals.length).toBeGreaterThanOrEqual(baseConfig.windowLimit * 2)
    expect(maxInFlight).toBeGreaterThanOrEqual(2)
    for (const worker of workers) {
      expect(worker.progress.windowGrants).toBeGreaterThan(0)
      expect(worker.progress.concurrencyGrants).toBeGreaterThan(10)
      expect(worker.progress.unavailable).toBe(0)
    }
  })

  test('the permits of a process killed with SIGKILL come back within the lease ttl, not before', async () => {
    const leaseTtlMs = 1500
    const run = `${prefix}-kill`
    const holder = startWorker({ ...baseConfig, mode: 'hold', prefix: run, leaseTtlMs })
    await new Promise<void>((resolve) =>
      holder.child.on('message', (message: WorkerMessage) => message.type === 'held' && resolve()),
    )
    const backend = redisBackend({ redis: REDIS_URL, prefix: run, leaseTtlMs })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: baseConfig.concurrencyLimit })
    expect(await concurrency.tryAcquire()).toMatchObject({ granted: false, reason: 'concurrency' })
    // The holder renews its leases: still held well past one ttl.
    await sleep(leaseTtlMs * 2)
    expect((await concurrency.tryAcquire()).granted).toBe(false)
    expect((await concurrency.state()).inFlight).toBe(baseConfig.concurrencyLimit)

    holder.child.kill('SIGKILL')
    await holder.exited
    const killedAt = Date.now()
    const lease = await concurrency.acquire(1, { deadline: killedAt + leaseTtlMs + 1000 })
    const elapsed = Date.now() - killedAt
    console.log(`permits back ${elapsed} ms after SIGKILL (lease ttl ${leaseTtlMs} ms)`)
    // Expiry is at the last renewal + ttl ≤ the kill + ttl; the waiter notices at its next poll (≤ 100 ms later).
    expect(elapsed).toBeLessThanOrEqual(leaseTtlMs + 300)
    // All of them.
    for (let i = 1; i < baseConfig.concurrencyLimit; i++) expect((await concurrency.tryAcquire()).granted).toBe(true)
    lease.release()
    await backend.dispose()
  })

  test('with the default lease ttl, a waiter in another process gets the permits of a SIGKILLed process within 10 s', async () => {
    const run = `${prefix}-kill-default`
    const holder = startWorker({ ...baseConfig, mode: 'hold', prefix: run, leaseTtlMs: undefined })
    await new Promise<void>((resolve) =>
      holder.child.on('message', (message: WorkerMessage) => message.type === 'held' && resolve()),
    )
    const backend = redisBackend({ redis: REDIS_URL, prefix: run })
    const concurrency = backend.create('concurrency', { kind: 'concurrency', limit: baseConfig.concurrencyLimit })
    // The other replica's requests are waiting when the holder dies.
    const waiting = Array.from({ length: baseConfig.concurrencyLimit }, () =>
      concurrency.acquire(1, { deadline: Date.now() + 15_000 }),
    )
    await sleep(200)
    holder.child.kill('SIGKILL')
    await holder.exited
    const killedAt = Date.now()
    const leases = await Promise.all(waiting)
    const elapsed = Date.now() - killedAt
    console.log(
      `default lease ttl: ${baseConfig.concurrencyLimit} waiting acquisitions granted ${elapsed} ms after SIGKILL`,
    )
    // The default ttl is 10 s, renewed every 3.3 s: expiry 6.7–10 s after the kill, and the waiters hear it at once.
    expect(elapsed).toBeLessThanOrEqual(10_000 + 300)
    expect(elapsed).toBeGreaterThanOrEqual(6_000)
    for (const lease of leases) lease.release()
    await backend.dispose()
  })

  describe('fair shares: 3 processes with 1, 2 and 3 callers competing for one limit get equal shares', () => {
    async function shares(label: string, share: Omit<NonNullable<WorkerConfig['share']>, 'lanes'>): Promise<number[]> {
      const run = `${prefix}-share-${label}`
      const workers = [1, 2, 3].map((lanes) =>
        startWorker({ ...baseConfig, mode: 'share', prefix: run, share: { ...share, lanes } }),
      )
      const ready = workers.map(
        (worker) =>
          new Promise<void>((resolve) =>
            worker.child.on('message', (message: WorkerMessage) => message.type === 'ready' && resolve()),
          ),
      )
      const results = workers.map(
        (worker) =>
          new Promise<{ grants: number; timeouts: number }>((resolve) =>
            worker.child.on('message', (message: WorkerMessage) => message.type === 'shared' && resolve(message)),
          ),
      )
      await Promise.all(ready)
      for (const worker of workers) worker.child.send('go')
      const counts = await Promise.all(results)
      await Promise.all(workers.map((worker) => worker.exited))
      const grants = counts.map((count) => count.grants)
      const mean = grants.reduce((sum, value) => sum + value, 0) / grants.length
      const spread = Math.max(...grants.map((value) => Math.abs(value - mean) / mean))
      console.log(
        `${label}: grants per process ${grants.join(' / ')} (mean ${mean.toFixed(1)}, largest deviation ${(spread * 100).toFixed(0)} %)`,
      )
      return grants
    }

    function expectFair(grants: number[], atLeast: number): void {
      const total = grants.reduce((sum, value) => sum + value, 0)
      expect(total).toBeGreaterThanOrEqual(atLeast)
      const mean = total / grants.length
      for (const value of grants) {
        expect(value).toBeGreaterThanOrEqual(mean * 0.75)
        expect(value).toBeLessThanOrEqual(mean * 1.25)
      }
    }

    test('concurrency (1 permit, held 15 ms): each process within ±25 % of the mean', async () => {
      const grants = await shares('concurrency', {
        spec: { kind: 'concurrency', limit: 1 },
        holdMs: 15,
        durationMs: 2000,
      })
      expectFair(grants, 60)
    })

    test('sliding window (3 per 150 ms): each process within ±25 % of the mean', async () => {
      const grants = await shares('sliding window', {
        spec: { kind: 'sliding_window', windowMs: 150, limit: 3 },
        holdMs: 0,
        durationMs: 3000,
      })
      expectFair(grants, 55)
    })
  })

  describe('on a Redis of its own that the test kills and restarts', () => {
    let server: RedisServer | undefined

    afterAll(async () => {
      await server?.stop()
    })

    test('recovers after a restart (kill -9) and after FLUSHALL, within 10 s', async () => {
      server = await startRedisServer()
      const { url } = server
      const config = { ...baseConfig, url, prefix: `${prefix}-restart`, windowLimit: 50, concurrencyLimit: 4 }
      const workers = [
        startWorker({ ...config, policy: 'fail-closed' }),
        startWorker({ ...config, policy: 'fail-closed' }),
        startWorker({ ...config, policy: 'fallback-memory' }),
      ]
      const [, , fallback] = workers as [Worker, Worker, Worker]
      const everyWorker = (condition: (progress: Progress) => boolean) => () =>
        workers.every((worker) => condition(worker.progress))
      await until(
        everyWorker((progress) => progress.concurrencyGrants > 0 && progress.windowGrants > 0),
        15_000,
        'every worker started',
      )

      await server.kill()
      const killedAt = Date.now()
      await until(
        everyWorker((progress) => progress.events.includes('unavailable')),
        5000,
        'every worker saw the outage',
      )
      await sleep(1000)
      // Fail-closed workers count LimiterUnavailableErrors; the fallback worker keeps going on memory.
      for (const worker of workers.slice(0, 2)) expect(worker.progress.unavailable).toBeGreaterThan(0)
      expect(fallback.progress.unavailable).toBe(0)
      expect(fallback.progress.lastGrantAt).toBeGreaterThan(killedAt)

      await server.restart()
      const restartedAt = Date.now()
      const recovery = await until(
        everyWorker((progress) => progress.lastGrantAt > restartedAt + 100),
        10_000,
        'granted again after the restart',
      )
      await until(
        everyWorker((progress) => progress.events.includes('recovered')),
        10_000,
        'every worker recovered',
      )
      console.log(`granting again ${recovery} ms after the restart`)

      const admin = new Redis(url)
      await admin.flushall()
      const flushedAt = Date.now()
      const afterFlush = await until(
        everyWorker((progress) => progress.lastGrantAt > flushedAt + 100),
        10_000,
        'granted again after FLUSHALL',
      )
      console.log(`granting again ${afterFlush} ms after FLUSHALL`)
      // Idle limiters' keys carry a TTL, so they vanish.
      const keys = await admin.keys(`{${config.prefix}:*`)
      expect(keys.length).toBeGreaterThan(0)
      for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(0)
      admin.disconnect()

      await stopWorkers(workers)
      for (const worker of workers) expect(worker.progress.timeouts + worker.progress.unavailable).toBeLessThan(10_000)
    })
  })
})
