// `pnpm bench gateway-embeddings`: `POST /v1/embeddings` through the gateway, against a bare proxy, at concurrency
// 10 (`--concurrency 1,10,100` for more). Each server runs in its own process, the load generator in another:
// - direct: the mock upstream itself;
// - bare-proxy: node:http + undici, no routing, forwarding to the upstream's /v1/embeddings — the practical limit;
// - llmpool: the gateway routing a pool of two embedding models (pass-through path);
// - llmpool-ai-sdk: the same with `--no-pass-through` (the AI SDK's embedding models, vectors parsed and encoded).
// Each request is what the `openai` client sends by default: one input, `encoding_format: "base64"`, here with
// 1536 dimensions (text-embedding-3-small's; `--dimensions`), so an answer carries an 8 KiB vector.
// Targets are measured in interleaved rounds (`--rounds`, default 5); the ratio to the bare proxy is the median of
// the per-round ratios (measured back to back, so the machine's drift cancels out). Target: ≥ 70 % of the bare
// proxy at concurrency 10. Each server's CPU time per request (from /proc, on Linux) is reported too: it moves less
// than requests/s when other work shares the machine. Last line: one JSON object.
// This file is also its own helpers (so that `pnpm bench` lists one benchmark): `--role proxy UPSTREAM` is the bare
// proxy, `--role load JOB` the load generator.
import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { processCpuUs } from './gateway/process-cpu'

const PATH = '/v1/embeddings'
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    role: { type: 'string', default: 'main' },
    'duration-ms': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    'warmup-ms': { type: 'string', default: '1000' },
    'prewarm-ms': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '10' },
    dimensions: { type: 'string', default: '1536' },
  },
})

/** The bare proxy: forwards every body to the upstream's /v1/embeddings and writes the answer back whole. */
function proxy(upstream: string): void {
  const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 })
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      pool
        .request({
          path: PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
        .then(async (answer) => {
          const body = Buffer.from(await answer.body.arrayBuffer())
          response.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': body.length })
          response.end(body)
        })
        .catch(() => (response.headersSent ? response.destroy() : response.writeHead(502).end()))
    })
  })
  server.keepAliveTimeout = 65_000
  server.listen(0, '127.0.0.1', () => process.send?.(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  process.on('disconnect', () => process.exit(0))
}

interface Job {
  url: string
  body: string
  concurrency: number
  warmupMs: number
  durationMs: number
}

/** The load generator: `concurrency` keep-alive loops, one request after another; prints one JSON line. */
async function generateLoad(job: Job): Promise<void> {
  const pool = new Pool(job.url, { connections: job.concurrency, pipelining: 1, keepAliveTimeout: 30_000 })
  const samples: number[] = []
  let errors = 0
  let firstError: string | undefined
  const warmupEnds = performance.now() + job.warmupMs
  const ends = warmupEnds + job.durationMs
  const loop = async () => {
    while (performance.now() < ends) {
      const started = performance.now()
      try {
        const response = await pool.request({
          path: PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: job.body,
        })
        const text = await response.body.text()
        if (response.statusCode !== 200 || !text.includes('"embedding"')) {
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
  const quantile = (numbers: number[], q: number) =>
    numbers.sort((a, b) => a - b)[Math.min(numbers.length - 1, Math.floor(q * numbers.length))] ?? Number.NaN
  console.log(
    JSON.stringify({
      requests: samples.length,
      errors,
      firstError,
      rps: samples.length / (job.durationMs / 1000),
      p50Ms: quantile(samples, 0.5),
      p99Ms: quantile(samples, 0.99),
    }),
  )
}

async function main(): Promise<void> {
  const durationMs = Number(values['duration-ms'])
  const warmupMs = Number(values['warmup-ms'])
  const prewarmMs = Number(values['prewarm-ms'])
  const rounds = Number(values.rounds)
  const dimensions = Number(values.dimensions)
  const concurrencies = values.concurrency!.split(',').map(Number)
  const here = import.meta.dirname
  const self = import.meta.filename
  const children: ChildProcess[] = []
  const pids = new Map<string, number>()
  const forkServer = (script: string, args: string[], execArgv?: string[]) => {
    const child = fork(script, args, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      ...(execArgv ? { execArgv } : {}),
    })
    children.push(child)
    return new Promise<string>((resolve, reject) => {
      child.once('message', (message) => {
        const url = typeof message === 'string' ? message : (message as { url: string }).url
        pids.set(url, child.pid!)
        resolve(url)
      })
      child.once('exit', (code) => reject(new Error(`${path.basename(script)} exited with ${code}`)))
    })
  }
  const cpuUs = (url: string) => processCpuUs(pids.get(url))
  const load = (url: string, body: string, concurrency: number, timing = { warmupMs, durationMs }) => {
    const job: Job = { url, body, concurrency, ...timing }
    const before = cpuUs(url)
    const output = execFileSync(process.execPath, [...process.execArgv, self, '--role', 'load', JSON.stringify(job)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const after = cpuUs(url)
    const run = JSON.parse(output.trim().split('\n').at(-1)!) as {
      requests: number
      errors: number
      firstError?: string
      rps: number
      p50Ms: number
      p99Ms: number
      serverCpuUsPerRequest?: number
    }
    // The warm-up's requests are served too: counted at the measured rate.
    if (before !== undefined && after !== undefined)
      run.serverCpuUsPerRequest = (after - before) / (run.requests + (run.rps * timing.warmupMs) / 1000)
    return run
  }
  const config = mkdtempSync(path.join(tmpdir(), 'llmpool-bench-embeddings-'))
  try {
    const upstream = await forkServer(path.join(here, 'router-upstream.ts'), [])
    const files: Record<string, string> = {
      '_registry.toml':
        '[pools]\nbench_pool = { file = "pools/bench-pool.toml" }\n[task_groups]\nbench_group = { file = "task-groups/bench-group.toml" }\n[global]\nenable_hot_reload = false\n',
      'pools/bench-pool.toml':
        '[pool]\nname = "bench_pool"\ntask_groups = ["bench_group"]\n[pool.rotation_strategy]\ntype = "round_robin"\n',
      'task-groups/bench-group.toml': `[task_group]\nname = "bench_group"\n[task_group.echelons.main]\nmodels = ["openai:embed-a", "openai:embed-b"]\nconcurrency_limit = 100000\nrpm_limit = 1000000\ntimeout = 30\napi_key = "bench-key"\nbase_url = "${upstream}/v1"\n`,
    }
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(config, file)), { recursive: true })
      writeFileSync(path.join(config, file), text)
    }
    // The gateway's built bin, as `npx @llmpool/gateway` runs it (scripts/bench.mjs builds it first).
    const bin = path.join(here, '..', 'packages', 'gateway', 'dist', 'bin.js')
    // With a 32 MiB young generation, as `pnpm gateway` and docs/deploy.md start it (docs/decisions/0009).
    const gatewayNode = ['--max-semi-space-size=32']
    const bare = await forkServer(self, ['--role', 'proxy', upstream])
    const llmpool = await forkServer(bin, ['--config', config, '--port', '0'], gatewayNode)
    const llmpoolAiSdk = await forkServer(bin, ['--config', config, '--port', '0', '--no-pass-through'], gatewayNode)
    const input =
      'The quick brown fox jumps over the lazy dog, then rests in the shade of an old oak tree by the river.'
    const request = (model: string) => JSON.stringify({ model, input, encoding_format: 'base64', dimensions })
    const targets = [
      { name: 'direct', url: upstream, model: 'embed-a' },
      { name: 'bare-proxy', url: bare, model: 'embed-a' },
      { name: 'llmpool', url: llmpool, model: 'bench_pool' },
      { name: 'llmpool-ai-sdk', url: llmpoolAiSdk, model: 'bench_pool' },
    ]
    type Run = ReturnType<typeof load>
    const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!
    const results: Record<string, Record<number, Run & { addedP50Ms?: number; addedP99Ms?: number }>> = {}
    const perRound: Record<number, { vsBare: number[]; aiSdkVsBare: number[] }> = {}
    // Every server is warmed up before the first round (as in bench/gateway.ts): a cold one spends its first seconds
    // in V8's baseline tiers, and a server runs for days.
    if (prewarmMs > 0) {
      for (const target of targets)
        load(target.url, request(target.model), 10, { warmupMs: prewarmMs, durationMs: 100 })
    }
    for (const concurrency of concurrencies) {
      const runs = new Map<string, Run[]>()
      for (let round = 0; round < rounds; round++) {
        for (const target of targets)
          runs.set(target.name, [
            ...(runs.get(target.name) ?? []),
            load(target.url, request(target.model), concurrency),
          ])
      }
      const rps = (name: string, round: number) => runs.get(name)![round]!.rps
      perRound[concurrency] = { vsBare: [], aiSdkVsBare: [] }
      for (let round = 0; round < rounds; round++) {
        perRound[concurrency]!.vsBare.push(rps('llmpool', round) / rps('bare-proxy', round))
        perRound[concurrency]!.aiSdkVsBare.push(rps('llmpool-ai-sdk', round) / rps('bare-proxy', round))
      }
      for (const target of targets) {
        const all = runs.get(target.name)!
        const row: Run & { addedP50Ms?: number; addedP99Ms?: number } = {
          requests: all.reduce((sum, run) => sum + run.requests, 0),
          errors: all.reduce((sum, run) => sum + run.errors, 0),
          ...(all.find((run) => run.firstError) ? { firstError: all.find((run) => run.firstError)!.firstError } : {}),
          rps: median(all.map((run) => run.rps)),
          p50Ms: median(all.map((run) => run.p50Ms)),
          p99Ms: median(all.map((run) => run.p99Ms)),
          ...(all[0]!.serverCpuUsPerRequest !== undefined
            ? { serverCpuUsPerRequest: median(all.map((run) => run.serverCpuUsPerRequest!)) }
            : {}),
        }
        const direct = results.direct?.[concurrency]
        if (direct && target.name !== 'direct') {
          row.addedP50Ms = row.p50Ms - direct.p50Ms
          row.addedP99Ms = row.p99Ms - direct.p99Ms
        }
        ;(results[target.name] ??= {})[concurrency] = row
        const added =
          row.addedP50Ms === undefined
            ? ''
            : `  added p50 ${row.addedP50Ms.toFixed(3)} ms, p99 ${row.addedP99Ms!.toFixed(3)} ms`
        const cpu =
          row.serverCpuUsPerRequest === undefined
            ? ''
            : `  server CPU ${row.serverCpuUsPerRequest.toFixed(0)} µs/request`
        console.log(
          `c=${String(concurrency).padStart(3)}  ${target.name.padEnd(15)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms${added}${cpu}${row.errors ? `  errors ${row.errors} (${row.firstError})` : ''}`,
        )
      }
    }
    const ratios = Object.fromEntries(
      concurrencies.map((concurrency) => [
        concurrency,
        {
          vsBare: median(perRound[concurrency]!.vsBare),
          vsBareOfMedians: results.llmpool![concurrency]!.rps / results['bare-proxy']![concurrency]!.rps,
          aiSdkVsBare: median(perRound[concurrency]!.aiSdkVsBare),
        },
      ]),
    )
    for (const [concurrency, ratio] of Object.entries(ratios)) {
      const percent = (value: number) => `${(value * 100).toFixed(0)} %`
      console.log(
        `c=${concurrency.padStart(3)}  llmpool = ${percent(ratio.vsBare)} of the bare proxy (through the AI SDK: ${percent(ratio.aiSdkVsBare)}; ratio of medians: ${percent(ratio.vsBareOfMedians)})`,
      )
    }
    const targetsMet = concurrencies.includes(10) ? ratios[10]!.vsBare >= 0.7 : undefined
    const errors = Object.values(results).some((byConcurrency) =>
      Object.values(byConcurrency).some((row) => row.errors > 0),
    )
    console.log(
      JSON.stringify({
        benchmark: 'gateway-embeddings',
        durationMs,
        prewarmMs,
        rounds,
        dimensions,
        loadAverage: loadavg(),
        concurrencies,
        results,
        ratios,
        perRound,
        targetsMet,
        errors,
      }),
    )
  } finally {
    for (const child of children) child.kill()
    rmSync(config, { recursive: true, force: true })
  }
}

if (values.role === 'proxy') proxy(positionals[0]!)
else if (values.role === 'load') await generateLoad(JSON.parse(positionals[0]!) as Job)
else await main()
