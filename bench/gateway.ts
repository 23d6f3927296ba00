// `pnpm bench gateway [--stream]`: what an OpenAI-compatible gateway in front of the mock upstream costs, at
// concurrency 1, 10 and 100: non-streaming chat completions, or with `--stream` streamed ones of 20 content chunks
// each. Each server runs in its own process, the load generator in another:
// - direct: the mock upstream itself;
// - bare-proxy: node:http + undici, no routing — the practical limit (streams: the body piped as it arrives);
// - llmpool: @llmpool/gateway routing a pool of two upstream targets (pass-through path);
// - llmpool-ai-sdk: the same with `--no-pass-through` (the AI SDK's conversions both ways);
// - portkey: @portkey-ai/gateway (installed into a temporary prefix for this run only), loadbalance over the same
//   two targets through the x-portkey-config header. Skipped with `--no-portkey` or when it cannot be installed.
// The targets are measured in interleaved rounds (`--rounds`, default 5) and each figure is the median over the
// rounds. This machine's speed drifts by ±30 % within a minute (a shared VM), so the ratios are taken per round,
// between measurements made back to back (bare proxy, then llmpool, then Portkey), and the median of those is
// reported and judged; the ratio of the median figures is printed beside it.
// Reports requests/s and the p50 / p99 latency added over direct (streams: also the time to the first byte of the
// body, and its p50 added over direct). Targets, non-streaming: ≥ 5× Portkey's requests/s, ≥ 80 % of the bare
// proxy's at c ≥ 10 and ≥ 70 % at c = 1, and a lower added p99 than Portkey; streaming: ≥ 70 % of the bare proxy's
// requests/s at every concurrency and at most 1 ms of time to first byte added (p50, c = 1, where no queue adds its
// own). Beside each Portkey ratio, the bare proxy's own ratio to Portkey in the same rounds. Last line: one JSON
// object.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { processCpuUs } from './gateway/process-cpu'

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    'warmup-ms': { type: 'string', default: '1000' },
    'prewarm-ms': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '1,10,100' },
    portkey: { type: 'boolean', default: true },
    'no-portkey': { type: 'boolean', default: false },
    stream: { type: 'boolean', default: false },
    'portkey-prefix': { type: 'string', default: path.join(tmpdir(), 'llmpool-bench-portkey') },
  },
})
const durationMs = Number(values['duration-ms'])
const warmupMs = Number(values['warmup-ms'])
const prewarmMs = Number(values['prewarm-ms'])
const concurrencies = values.concurrency!.split(',').map(Number)
const rounds = Number(values.rounds)
const stream = values.stream === true
const here = import.meta.dirname
const root = path.join(here, '..')
const children: ChildProcess[] = []
const cleanup: (() => void)[] = []
/** Each server's process, by its URL: its CPU time per request is reported beside its requests/s. */
const pids = new Map<string, number>()

function forkServer(script: string, args: string[], execArgv?: string[]): Promise<string> {
  const child = fork(script, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], ...(execArgv ? { execArgv } : {}) })
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      const url = typeof message === 'string' ? message : (message as { url: string }).url
      pids.set(url, child.pid!)
      resolve(url)
    })
    child.once('exit', (code) => reject(new Error(`${path.basename(script)} exited with ${code}`)))
  })
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await fetch(url)
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not come up within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

/** Installs @portkey-ai/gateway into a temporary prefix (once) and starts it; undefined when that fails. */
async function startPortkey(): Promise<string | undefined> {
  const prefix = values['portkey-prefix']!
  const entry = path.join(prefix, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js')
  if (!existsSync(entry)) {
    console.error(`installing @portkey-ai/gateway into ${prefix} (for this benchmark only)`)
    mkdirSync(prefix, { recursive: true })
    try {
      execFileSync('npm', ['install', '--no-save', '--prefix', prefix, '@portkey-ai/gateway@1.15.2'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    } catch (error) {
      console.error(`could not install @portkey-ai/gateway: ${(error as Error).message}; skipping it`)
      return undefined
    }
  }
  const port = await freePort()
  const child = spawn(process.execPath, [entry, `--port=${port}`, '--headless'], {
    stdio: 'ignore',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  children.push(child)
  await waitFor(`http://127.0.0.1:${port}/`, 30_000)
  pids.set(`http://127.0.0.1:${port}`, child.pid!)
  return `http://127.0.0.1:${port}`
}

function load(
  url: string,
  headers: Record<string, string>,
  body: string,
  concurrency: number,
  timing = { warmupMs, durationMs },
) {
  const before = processCpuUs(pids.get(url))
  const output = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      path.join(here, 'gateway-load.ts'),
      JSON.stringify({ url, headers, body, concurrency, ...timing, stream }),
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const after = processCpuUs(pids.get(url))
  const run = JSON.parse(output.trim().split('\n').at(-1)!) as {
    requests: number
    errors: number
    firstError?: string
    rps: number
    p50Ms: number
    p99Ms: number
    ttfbP50Ms?: number
    ttfbP99Ms?: number
    serverCpuUsPerRequest?: number
  }
  // The warm-up's requests are served too: counted at the measured rate.
  if (before !== undefined && after !== undefined)
    run.serverCpuUsPerRequest = (after - before) / (run.requests + (run.rps * timing.warmupMs) / 1000)
  return run
}

try {
  const upstream = await forkServer(path.join(here, 'router-upstream.ts'), [])
  const config = mkdtempSync(path.join(tmpdir(), 'llmpool-bench-gateway-'))
  cleanup.push(() => rmSync(config, { recursive: true, force: true }))
  const files: Record<string, string> = {
    '_registry.toml':
      '[pools]\nbench_pool = { file = "pools/bench-pool.toml" }\n[task_groups]\nbench_group = { file = "task-groups/bench-group.toml" }\n[global]\nenable_hot_reload = false\n',
    'pools/bench-pool.toml':
      '[pool]\nname = "bench_pool"\ntask_groups = ["bench_group"]\n[pool.rotation_strategy]\ntype = "round_robin"\n',
    'task-groups/bench-group.toml': `[task_group]\nname = "bench_group"\n[task_group.echelons.main]\nmodels = ["openai:bench-a", "openai:bench-b"]\nconcurrency_limit = 100000\nrpm_limit = 1000000\ntimeout = 30\napi_key = "bench-key"\nbase_url = "${upstream}/v1"\n`,
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(config, file)), { recursive: true })
    writeFileSync(path.join(config, file), text)
  }
  // The gateway's built bin, as `npx @llmpool/gateway` runs it (scripts/bench.mjs builds it first): run from its
  // sources through tsx, every closure it makes per request would also be named by a helper (tsx keeps names).
  const main = path.join(root, 'packages', 'gateway', 'dist', 'bin.js')
  const bare = await forkServer(path.join(here, 'gateway-bare-proxy.ts'), stream ? [upstream, 'stream'] : [upstream])
  // With a 32 MiB young generation, as `pnpm gateway` and docs/deploy.md start it (docs/decisions/0009).
  const gatewayNode = ['--max-semi-space-size=32']
  const llmpool = await forkServer(main, ['--config', config, '--port', '0'], gatewayNode)
  const llmpoolAiSdk = await forkServer(main, ['--config', config, '--port', '0', '--no-pass-through'], gatewayNode)
  const portkey = values['no-portkey'] ? undefined : await startPortkey()

  // Streamed: the mock upstream echoes the message after "mock reply from bench-a:", a chunk per word: 20 chunks.
  const message = stream
    ? {
        messages: [
          {
            role: 'user',
            content: 'say hello to the benchmark in exactly sixteen words so that every answer streams twenty chunks',
          },
        ],
        max_tokens: 32,
        stream: true,
      }
    : { messages: [{ role: 'user', content: 'Say hello to the benchmark, briefly.' }], max_tokens: 32 }
  if (stream) {
    const answer = await fetch(`${upstream}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bench-a', ...message }),
    })
    const chunks = (await answer.text()).split('\n\n').filter((event) => event.includes('"delta":{"content"')).length
    console.log(`streamed answers: ${chunks} content chunks each`)
  }
  const portkeyConfig = JSON.stringify({
    strategy: { mode: 'loadbalance' },
    targets: [
      {
        provider: 'openai',
        api_key: 'bench-key',
        custom_host: `${upstream}/v1`,
        override_params: { model: 'bench-a' },
      },
      {
        provider: 'openai',
        api_key: 'bench-key',
        custom_host: `${upstream}/v1`,
        override_params: { model: 'bench-b' },
      },
    ],
  })
  // Portkey 1.15.2 fails every streamed request on Node 20 here (500 "Something went wrong": it appends headers to
  // a Response whose headers are immutable). One request tells; it is left out rather than measured failing.
  let portkeyStreams = portkey !== undefined
  if (portkey && stream) {
    const answer = await fetch(`${portkey}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-config': portkeyConfig },
      body: JSON.stringify({ model: 'bench-a', ...message }),
    })
    const text = await answer.text()
    if (answer.status !== 200 || !text.includes('[DONE]')) {
      console.log(`portkey answered a streamed request with ${answer.status} ${text.slice(0, 100)}: left out`)
      portkeyStreams = false
    }
  }
  const targets: { name: string; url: string; headers: Record<string, string>; model: string }[] = [
    { name: 'direct', url: upstream, headers: { authorization: 'Bearer bench-key' }, model: 'bench-a' },
    { name: 'bare-proxy', url: bare, headers: {}, model: 'bench-a' },
    { name: 'llmpool', url: llmpool, headers: {}, model: 'bench_pool' },
    ...(portkey && portkeyStreams
      ? [{ name: 'portkey', url: portkey, headers: { 'x-portkey-config': portkeyConfig }, model: 'bench-a' }]
      : []),
    { name: 'llmpool-ai-sdk', url: llmpoolAiSdk, headers: {}, model: 'bench_pool' },
  ]

  type Row = ReturnType<typeof load> & { addedP50Ms?: number; addedP99Ms?: number; addedTtfbP50Ms?: number }
  const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!
  // Every server is warmed up before the first round: a server runs for days, and a cold one spends its first
  // seconds in V8's baseline tiers (the gateway needs ~20 000 requests, 3-4 s at c = 10, to reach its steady rate;
  // at c = 1, where calls come slowly, it took 8 s). Without this, the c = 1 rounds measured the JIT's warm-up.
  if (prewarmMs > 0) {
    for (const target of targets) {
      const body = JSON.stringify({ model: target.model, ...message })
      const warm = load(target.url, target.headers, body, 10, { warmupMs: prewarmMs, durationMs: 100 })
      if (warm.errors > 0) console.log(`${target.name}: ${warm.errors} errors while warming up (${warm.firstError})`)
    }
  }
  const results: Record<string, Record<number, Row>> = {}
  const perRound: Record<number, { vsBare: number[]; vsPortkey: number[]; bareVsPortkey: number[] }> = {}
  for (const concurrency of concurrencies) {
    const runs = new Map<string, ReturnType<typeof load>[]>()
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        const run = load(target.url, target.headers, JSON.stringify({ model: target.model, ...message }), concurrency)
        if (!runs.has(target.name)) runs.set(target.name, [])
        runs.get(target.name)!.push(run)
      }
    }
    const rps = (name: string, round: number) => runs.get(name)?.[round]?.rps
    perRound[concurrency] = { vsBare: [], vsPortkey: [], bareVsPortkey: [] }
    for (let round = 0; round < rounds; round++) {
      perRound[concurrency]!.vsBare.push(rps('llmpool', round)! / rps('bare-proxy', round)!)
      if (portkeyStreams) {
        perRound[concurrency]!.vsPortkey.push(rps('llmpool', round)! / rps('portkey', round)!)
        perRound[concurrency]!.bareVsPortkey.push(rps('bare-proxy', round)! / rps('portkey', round)!)
      }
    }
    for (const target of targets) {
      const all = runs.get(target.name)!
      const row: Row = {
        requests: all.reduce((sum, run) => sum + run.requests, 0),
        errors: all.reduce((sum, run) => sum + run.errors, 0),
        ...(all.find((run) => run.firstError) ? { firstError: all.find((run) => run.firstError)!.firstError } : {}),
        rps: median(all.map((run) => run.rps)),
        p50Ms: median(all.map((run) => run.p50Ms)),
        p99Ms: median(all.map((run) => run.p99Ms)),
        ...(stream
          ? { ttfbP50Ms: median(all.map((run) => run.ttfbP50Ms!)), ttfbP99Ms: median(all.map((run) => run.ttfbP99Ms!)) }
          : {}),
        ...(all[0]!.serverCpuUsPerRequest !== undefined
          ? { serverCpuUsPerRequest: median(all.map((run) => run.serverCpuUsPerRequest!)) }
          : {}),
      }
      const direct = results.direct?.[concurrency]
      if (direct && target.name !== 'direct') {
        row.addedP50Ms = row.p50Ms - direct.p50Ms
        row.addedP99Ms = row.p99Ms - direct.p99Ms
        if (stream) row.addedTtfbP50Ms = row.ttfbP50Ms! - direct.ttfbP50Ms!
      }
      ;(results[target.name] ??= {})[concurrency] = row
      const ttfb =
        typeof row.ttfbP50Ms !== 'number'
          ? ''
          : `  first byte p50 ${row.ttfbP50Ms.toFixed(3)} ms${row.addedTtfbP50Ms === undefined ? '' : ` (added ${row.addedTtfbP50Ms.toFixed(3)})`}`
      const added =
        (row.addedP50Ms === undefined
          ? ''
          : `  added p50 ${row.addedP50Ms.toFixed(3)} ms, p99 ${row.addedP99Ms!.toFixed(3)} ms`) + ttfb
      console.log(
        `c=${String(concurrency).padStart(3)}  ${target.name.padEnd(15)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms${added}${row.serverCpuUsPerRequest === undefined ? '' : `  server CPU ${row.serverCpuUsPerRequest.toFixed(0)} µs/request`}${row.errors ? `  errors ${row.errors} (${row.firstError})` : ''}`,
      )
    }
  }
  const ratios = Object.fromEntries(
    concurrencies.map((concurrency) => {
      const ours = results.llmpool![concurrency]!
      const pk = results.portkey?.[concurrency]
      const paired = perRound[concurrency]!
      return [
        concurrency,
        {
          vsBare: median(paired.vsBare),
          vsBareOfMedians: ours.rps / results['bare-proxy']![concurrency]!.rps,
          ...(ours.serverCpuUsPerRequest !== undefined
            ? {
                cpuPerRequestVsBare:
                  ours.serverCpuUsPerRequest / results['bare-proxy']![concurrency]!.serverCpuUsPerRequest!,
              }
            : {}),
          ...(pk
            ? {
                vsPortkey: median(paired.vsPortkey),
                vsPortkeyOfMedians: ours.rps / pk.rps,
                // What a proxy that does no routing at all reaches against Portkey in the same rounds: the yardstick
                // for vsPortkey at c = 1, where a proxy's rate is set more by the machine's wake-ups than by its work.
                bareVsPortkey: median(paired.bareVsPortkey),
                lowerAddedP99ThanPortkey: ours.addedP99Ms! < pk.addedP99Ms!,
              }
            : {}),
        },
      ]
    }),
  )
  for (const [concurrency, ratio] of Object.entries(ratios)) {
    const percent = (value: number) => `${(value * 100).toFixed(0)} %`
    console.log(
      `c=${concurrency.padStart(3)}  llmpool = ${percent(ratio.vsBare)} of the bare proxy${'vsPortkey' in ratio ? `, ${ratio.vsPortkey!.toFixed(1)}× Portkey` : ''}` +
        `  (median of per-round ratios; ratio of medians: ${percent(ratio.vsBareOfMedians)}${'vsPortkeyOfMedians' in ratio ? `, ${ratio.vsPortkeyOfMedians!.toFixed(1)}×` : ''})` +
        ('bareVsPortkey' in ratio ? `; the bare proxy itself ${ratio.bareVsPortkey!.toFixed(1)}× Portkey` : '') +
        ('cpuPerRequestVsBare' in ratio
          ? `; CPU per request ${ratio.cpuPerRequestVsBare!.toFixed(2)}× the bare proxy's`
          : ''),
    )
  }
  const met = stream
    ? Object.values(ratios).every((ratio) => ratio.vsBare >= 0.7) && !((results.llmpool![1]?.addedTtfbP50Ms ?? 0) > 1)
    : Object.entries(ratios).every(
        ([concurrency, ratio]) =>
          ratio.vsBare >= (Number(concurrency) >= 10 ? 0.8 : 0.7) &&
          (!('vsPortkey' in ratio) || (ratio.vsPortkey! >= 5 && ratio.lowerAddedP99ThanPortkey)),
      )
  console.log(
    JSON.stringify({
      benchmark: 'gateway',
      stream,
      durationMs,
      prewarmMs,
      rounds,
      loadAverage: loadavg(),
      concurrencies,
      results,
      ratios,
      perRound,
      targetsMet: met,
    }),
  )
} finally {
  for (const child of children) child.kill()
  for (const step of cleanup) step()
}
