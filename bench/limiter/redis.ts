// The Redis part of `pnpm bench limiter` (bench/limiter.ts prints it): the Redis backend's acquire + release, and
// Bottleneck's clustering (datastore ioredis) for reference, on the Redis at LLMPOOL_BENCH_REDIS_URL (default
// redis://127.0.0.1:6379). Limits are high enough never to deny, so this measures the round trips. Target: ≥ 5,000
// acquires/s in total across 3 processes. Keys live under a unique prefix and are deleted afterwards.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import Bottleneck from 'bottleneck'
import { Redis } from 'ioredis'
import { type Limiter, redisBackend } from '@llmpool/limiter'

const URL_ = process.env.LLMPOOL_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CONCURRENCY = 64
const PROCESSES = 3
const SEQUENTIAL_OPERATIONS = 3000
const DURATION_MS = 3000

export interface RedisBenchResult {
  /** Sequential acquire + release in one process (µs per pair; the release rides with the next acquire). */
  redis_acquire_release_us_1p: number
  /** Acquire + release pairs per second, one process, 64 concurrent loops. */
  redis_ops_per_s_1p: number
  /** The same, summed over 3 processes running at once. */
  redis_ops_per_s_3p: number
  /** Bottleneck clustering: one job through schedule(), sequential (µs per job). */
  bottleneck_redis_us: number
  /** Bottleneck clustering: jobs per second, one process, 64 concurrent jobs. */
  bottleneck_redis_ops_per_s: number
}

async function sequentialUs(operation: () => Promise<void>, count: number): Promise<number> {
  for (let i = 0; i < Math.min(500, count); i++) await operation()
  const started = performance.now()
  for (let i = 0; i < count; i++) await operation()
  return ((performance.now() - started) * 1000) / count
}

async function perSecond(operation: () => Promise<void>, concurrency: number, durationMs: number): Promise<number> {
  const started = performance.now()
  const until = started + durationMs
  let operations = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await operation()
        operations++
      }
    }),
  )
  return operations / ((performance.now() - started) / 1000)
}

const acquireRelease = (limiter: Limiter) => async () => {
  const lease = await limiter.acquire()
  lease.release()
}

async function threeProcesses(prefix: string): Promise<number> {
  const worker = fileURLToPath(new URL('./redis-worker.ts', import.meta.url))
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const children = Array.from({ length: PROCESSES }, () =>
    fork(worker, [JSON.stringify({ url: URL_, prefix, concurrency: CONCURRENCY, durationMs: DURATION_MS })], {
      cwd: root,
      // Resolve packages as this process does (built dist/ under `pnpm bench`; NODE_OPTIONS is inherited).
      execArgv: ['--import', 'tsx', ...process.execArgv.filter((argument) => argument.startsWith('--conditions'))],
    }),
  )
  try {
    await Promise.all(children.map((child) => once(child, 'message')))
    const done = children.map((child) => once(child, 'message') as Promise<[{ operations: number; seconds: number }]>)
    for (const child of children) child.send('go')
    const results = await Promise.all(done)
    return results.reduce((sum, [{ operations, seconds }]) => sum + operations / seconds, 0)
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}

async function bottleneck(id: string): Promise<{ us: number; perSecond: number }> {
  const { hostname, port } = new URL(URL_)
  const limiter = new Bottleneck({
    id,
    datastore: 'ioredis',
    Redis,
    clientOptions: { host: hostname, port: Number(port || 6379) },
    clearDatastore: true,
    maxConcurrent: 10_000,
  })
  await limiter.ready()
  const job = () => limiter.schedule(() => Promise.resolve())
  try {
    return {
      us: await sequentialUs(async () => void (await job()), 1000),
      perSecond: await perSecond(async () => void (await job()), CONCURRENCY, DURATION_MS),
    }
  } finally {
    await limiter.disconnect(true)
  }
}

async function deleteKeys(patterns: string[]): Promise<void> {
  const client = new Redis(URL_)
  for (const pattern of patterns) {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  }
  client.disconnect()
}

export async function benchRedis(): Promise<RedisBenchResult> {
  const run = `llmpool-bench-${process.pid}-${randomBytes(3).toString('hex')}`
  try {
    const backend = redisBackend({ redis: URL_, prefix: run })
    const limiter = backend.create('bench-concurrency', { kind: 'concurrency', limit: 10_000 })
    const us = await sequentialUs(acquireRelease(limiter), SEQUENTIAL_OPERATIONS)
    const onePerSecond = await perSecond(acquireRelease(limiter), CONCURRENCY, DURATION_MS)
    await backend.dispose()
    const threePerSecond = await threeProcesses(run)
    const reference = await bottleneck(`${run}-bottleneck`)
    return {
      redis_acquire_release_us_1p: us,
      redis_ops_per_s_1p: onePerSecond,
      redis_ops_per_s_3p: threePerSecond,
      bottleneck_redis_us: reference.us,
      bottleneck_redis_ops_per_s: reference.perSecond,
    }
  } finally {
    await deleteKeys([`{${run}*`, `b_${run}*`])
  }
}
