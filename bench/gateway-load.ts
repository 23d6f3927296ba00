// The load generator of `pnpm bench gateway`, in its own process: keep-alive undici connections, `concurrency`
// loops each sending one request after another for `durationMs` after a `warmupMs`. Prints one JSON line.
// With `stream`, each answer is read as it comes: the time to its first body byte is measured too, and an answer
// that does not end with `data: [DONE]` (a cut or failed stream) counts as an error.
import { Pool } from 'undici'

interface Job {
  url: string
  headers: Record<string, string>
  body: string
  concurrency: number
  warmupMs: number
  durationMs: number
  stream?: boolean
}
const job = JSON.parse(process.argv[2]!) as Job
const pool = new Pool(job.url, { connections: job.concurrency, pipelining: 1, keepAliveTimeout: 30_000 })
const headers = { 'content-type': 'application/json', ...job.headers }
const DONE = 'data: [DONE]'

const samples: number[] = []
const firstBytes: number[] = []
let errors = 0
let firstError: string | undefined
const warmupEnds = performance.now() + job.warmupMs
const ends = warmupEnds + job.durationMs
const loop = async () => {
  while (performance.now() < ends) {
    const started = performance.now()
    let firstByte = NaN
    try {
      const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: job.body })
      let text = ''
      if (job.stream) {
        for await (const chunk of response.body) {
          if (text === '') firstByte = performance.now() - started
          text += (chunk as Buffer).toString('utf8')
        }
      } else text = await response.body.text()
      if (response.statusCode !== 200 || (job.stream && !text.trimEnd().endsWith(DONE))) {
        errors++
        firstError ??= `${response.statusCode} ${text.slice(-200)}`
        continue
      }
    } catch (error) {
      errors++
      firstError ??= (error as Error).message
      continue
    }
    if (started >= warmupEnds) {
      samples.push(performance.now() - started)
      if (job.stream) firstBytes.push(firstByte)
    }
  }
}
await Promise.all(Array.from({ length: job.concurrency }, loop))
await pool.close()
const quantile = (values: number[], q: number) =>
  values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN
console.log(
  JSON.stringify({
    requests: samples.length,
    errors,
    firstError,
    rps: samples.length / (job.durationMs / 1000),
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    ...(job.stream ? { ttfbP50Ms: quantile(firstBytes, 0.5), ttfbP99Ms: quantile(firstBytes, 0.99) } : {}),
  }),
)
