// One process of the 3-process Redis benchmark (forked by ./redis.ts through tsx): connects, warms up, reports
// `ready`, then on `go` runs acquire + release in `concurrency` loops for `durationMs` and reports its count.
import { redisBackend } from '@llmpool/limiter'

interface Options {
  url: string
  prefix: string
  concurrency: number
  durationMs: number
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
process.on('disconnect', () => process.exit(0))

const backend = redisBackend({ redis: options.url, prefix: options.prefix })
const limiter = backend.create('bench-concurrency', { kind: 'concurrency', limit: 10_000 })

async function loops(until: number): Promise<number> {
  let operations = 0
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) {
        const lease = await limiter.acquire()
        lease.release()
        operations++
      }
    }),
  )
  return operations
}

await loops(performance.now() + 300) // warm-up: connection, scripts, JIT
process.send?.({ type: 'ready' })
process.once('message', async () => {
  const started = performance.now()
  const operations = await loops(started + options.durationMs)
  const seconds = (performance.now() - started) / 1000
  process.send?.({ type: 'done', operations, seconds })
  await backend.dispose()
  process.disconnect()
})
