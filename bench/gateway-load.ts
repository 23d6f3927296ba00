// The load generator of `pnpm bench gateway`, in its own process: keep-alive undici connections, `concurrency`
// loops each sending one request after another for `durationMs` after a `warmupMs`. Prints one JSON line.
import { Pool } from 'undici'

interface Job {
  url: string
  headers: Record<string, string>
  body: string
  concurrency: number
  warmupMs: number
  durationMs: number
}
const job = JSON.parse(process.argv[2]!) as Job
const pool = new Pool(job.url, { connections: job.concurrency, pipelining: 1, keepAliveTimeout: 30_000 })
const headers = { 'content-type': 'application/json', ...job.headers }

const samples: number[] = []
let errors = 0
let firstError: string | undefined
const warmupEnds = performance.now() + job.warmupMs
const ends = warmupEnds + job.durationMs
const loop = async () => {
  while (performance.now() < ends) {
    const started = performance.now()
    try {
      const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: job.body })
      const text = await response.body.text()
      if (response.statusCode !== 200) {
        errors++
        firstError ??= `${response.statusCode} ${text.slice(0, 200)}`
        continue
      }
    } catch (error) {
      errors++
      firstError ??= (error as Error).message
      continue
    }
    if (started >= warmupEnds) samples.push(performance.now() - started)
  }
}
await Promise.all(Array.from({ length: job.concurrency }, loop))
await pool.close()
samples.sort((a, b) => a - b)
const quantile = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN
console.log(JSON.stringify({ requests: samples.length, errors, firstError, rps: samples.length / (job.durationMs / 1000), p50Ms: quantile(0.5), p99Ms: quantile(0.99) }))
