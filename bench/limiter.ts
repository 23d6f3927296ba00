// `pnpm bench limiter`: memory tryAcquire + release (ns/op, median of batches), Bottleneck's local datastore as a
// reference, and the Redis backend (µs/op and ops/s with 1 and 3 processes; Bottleneck clustering as a reference).
// Targets: memory ≤ 1 µs/op median; Redis ≥ 5,000 acquires/s in total across 3 processes.
import Bottleneck from 'bottleneck'
import { memoryBackend, type SyncLimiter } from '@llmpool/limiter'
import { benchRedis } from './limiter/redis'

const BATCH = 20_000
const BATCHES = 60

function medianNs(operation: () => void): { median: number; p99: number } {
  for (let i = 0; i < BATCH * 5; i++) operation() // warm-up: let the JIT settle
  const perOp: number[] = []
  for (let batch = 0; batch < BATCHES; batch++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < BATCH; i++) operation()
    perOp.push(Number(process.hrtime.bigint() - started) / BATCH)
  }
  perOp.sort((a, b) => a - b)
  return { median: perOp[Math.floor(perOp.length / 2)]!, p99: perOp[Math.floor(perOp.length * 0.99)]! }
}

function acquireRelease(limiter: SyncLimiter): () => void {
  return () => {
    const lease = limiter.tryAcquire()
    if (lease.granted) lease.release()
  }
}

const backend = memoryBackend()
const huge = 1_000_000_000
const memory = {
  token_bucket: medianNs(
    acquireRelease(backend.create('bucket', { kind: 'token_bucket', bucketSize: huge, refillPerSecond: huge })),
  ),
  fixed_window: medianNs(
    acquireRelease(backend.create('window', { kind: 'fixed_window', windowMs: 1000, maxRequests: huge })),
  ),
  sliding_window: medianNs(acquireRelease(backend.create('rpm', { kind: 'sliding_window', windowMs: 1, limit: 1000 }))),
  concurrency: medianNs(acquireRelease(backend.create('concurrency', { kind: 'concurrency', limit: 100 }))),
  instance: medianNs(
    acquireRelease(
      backend.composite('instance', [
        backend.create('instance-rpm', { kind: 'sliding_window', windowMs: 1, limit: 1000 }),
        backend.create('instance-concurrency', { kind: 'concurrency', limit: 100 }),
      ]),
    ),
  ),
}
for (const [kind, figures] of Object.entries(memory))
  console.log(
    `memory ${kind.padEnd(15)} tryAcquire + release: median ${figures.median.toFixed(0)} ns/op, p99 ${figures.p99.toFixed(0)} ns/op`,
  )
await backend.dispose()

// Bottleneck's local datastore, as the reference the issue names: one job through schedule().
async function bottleneckLocal(): Promise<number> {
  const limiter = new Bottleneck({ maxConcurrent: 100 })
  const jobs = 2000
  const started = performance.now()
  await Promise.all(Array.from({ length: jobs }, () => limiter.schedule(async () => undefined)))
  const usPerJob = ((performance.now() - started) * 1000) / jobs
  await limiter.stop()
  return usPerJob
}
const bottleneckUs = await bottleneckLocal()
console.log(
  `bottleneck local schedule(): ${bottleneckUs.toFixed(1)} µs/job (${Math.round(1_000_000 / bottleneckUs)} jobs/s)`,
)

const redis = await benchRedis()
console.log(
  `redis acquire + release: ${redis.redis_acquire_release_us_1p.toFixed(0)} µs/op sequential; ` +
    `${Math.round(redis.redis_ops_per_s_1p)} ops/s (1 process), ${Math.round(redis.redis_ops_per_s_3p)} ops/s (3 processes); ` +
    `bottleneck clustering ${redis.bottleneck_redis_us.toFixed(0)} µs/job, ${Math.round(redis.bottleneck_redis_ops_per_s)} jobs/s`,
)

console.log(
  JSON.stringify({
    name: 'limiter',
    // The contract's operation on one limiter, the slowest kind; an instance's rpm + concurrency composite apart.
    memory_ns_per_op_median: Math.round(
      Math.max(
        memory.token_bucket.median,
        memory.fixed_window.median,
        memory.sliding_window.median,
        memory.concurrency.median,
      ),
    ),
    memory_instance_ns_per_op_median: Math.round(memory.instance.median),
    memory_ns_per_op: Object.fromEntries(
      Object.entries(memory).map(([kind, figures]) => [kind, Math.round(figures.median)]),
    ),
    bottleneck_local_us_per_job: Number(bottleneckUs.toFixed(1)),
    ...Object.fromEntries(Object.entries(redis).map(([key, value]) => [key, Number(value.toFixed(1))])),
  }),
)
