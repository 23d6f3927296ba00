// `pnpm bench router-dashboard`: does a connected dashboard slow routing? The in-process figures of `pnpm bench
// router` (the instant in-memory model through a pool: memory limits, breaker, health, metrics on), measured in
// interleaved rounds without a dashboard and with one — `dashboardHandler` on a node:http server and a page's feed
// connected over HTTP (a tick a second, read as a browser reads it) — at concurrency 1 and 100.
// Target: routed requests/s with a dashboard connected within 10 % of without.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider'
import { loadConfig } from '@llmpool/config'
import { dashboardHandler } from '@llmpool/dashboard'
import { Router } from '@llmpool/router'

/** `--rounds N` (default 7) and `--duration-ms MS` per measurement (default 2000). */
const option = (name: string) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : undefined
const ROUNDS = option('--rounds') || 7
const DURATION_MS = option('--duration-ms') || 2000

// Unlike bench/router.ts (a fixed count of calls), rounds here run for a time: no rpm_limit, which a few seconds at
// this rate would use up (the calls would then wait for capacity, not measure routing).
const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-bench-dashboard-'))
const files: Record<string, string> = {
  '_registry.toml':
    '[pools]\npool = { file = "pools/pool.toml" }\n[task_groups]\ngroup = { file = "task-groups/group.toml" }\n',
  'pools/pool.toml':
    '[pool]\nname = "pool"\ntask_groups = ["group"]\n[pool.rate_limiting]\nenabled = true\n[pool.rate_limiting.token_bucket]\nbucket_size = 1000000000\nrefill_rate = 1000000000\n',
  'task-groups/group.toml':
    '[task_group]\nname = "group"\n[task_group.echelons.main]\nmodels = ["memory:a", "memory:b"]\nconcurrency_limit = 100000\n',
}
for (const [file, text] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
  writeFileSync(path.join(directory, file), text)
}
const config = await loadConfig({ directory, env: {} })

const answer: LanguageModelV3GenerateResult = {
  content: [{ type: 'text', text: 'ok' }],
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: {
    inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 1, text: 1, reasoning: undefined },
  },
  warnings: [],
}
const instantModel = (modelId: string): LanguageModelV3 => ({
  specificationVersion: 'v3',
  provider: 'memory',
  modelId,
  supportedUrls: {},
  doGenerate: async () => answer,
  doStream: async () => {
    throw new Error('not used')
  },
})
const call: LanguageModelV3CallOptions = { prompt: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }] }
const router = new Router({
  config,
  providers: { memory: { createModel: ({ modelId }) => instantModel(modelId) } },
  healthChecks: false,
})

/** Routed requests/s of `concurrency` loops calling for `durationMs` (counted, not sampled: no per-call garbage). */
async function measure(concurrency: number, durationMs: number) {
  let done = 0
  const started = performance.now()
  const end = started + durationMs
  const loop = async () => {
    while (performance.now() < end) {
      await router.generate('pool', call)
      // The instant model answers in microtasks: without a turn of the event loop now and then, no timer (the
      // dashboard's ticker) and no socket would ever run, as they do with a real upstream. Both variants yield alike.
      if (++done % 256 === 0) await new Promise(setImmediate)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return done / ((performance.now() - started) / 1000)
}

/** A dashboard on its own server with one page's feed connected, read to the end as a browser does. */
async function connectDashboard() {
  const handler = dashboardHandler({ router })
  const server = createServer((request, response) => void handler(request, response))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const controller = new AbortController()
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/api/feed`, {
    signal: controller.signal,
  })
  const reader = response.body!.getReader()
  let bytes = 0
  const reading = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        bytes += value.length
      }
    } catch {
      // Aborted at the end of the round.
    }
  })()
  return {
    handler,
    async close() {
      controller.abort()
      await reading
      handler.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      return bytes
    },
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const results: Record<string, number | number[]> = {}
for (const concurrency of [1, 100]) {
  await measure(concurrency, DURATION_MS) // warm-up
  const without: number[] = []
  const withDashboard: number[] = []
  const ratios: number[] = []
  let snapshots = 0
  let bytes = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first (ABBA), so that drift and the order of the two cancel out over the rounds.
    const watchedFirst = round % 2 === 1
    let watched = 0
    let plain = 0
    if (!watchedFirst) plain = await measure(concurrency, DURATION_MS)
    const dashboard = await connectDashboard()
    watched = await measure(concurrency, DURATION_MS)
    snapshots += dashboard.handler.feed.snapshots
    bytes += await dashboard.close()
    if (watchedFirst) plain = await measure(concurrency, DURATION_MS)
    without.push(plain)
    withDashboard.push(watched)
    ratios.push(watched / plain)
  }
  const ratio = median(ratios)
  console.log(
    `concurrency ${concurrency}: ${Math.round(median(without))} routed req/s without a dashboard, ${Math.round(median(withDashboard))} with one connected ` +
      `(${((ratio - 1) * 100).toFixed(1)} %, median of ${ROUNDS} interleaved rounds of ${DURATION_MS} ms; ${snapshots} snapshots, ${Math.round(bytes / 1024)} KiB sent to the page)`,
  )
  results[`req_per_s_without_c${concurrency}`] = Math.round(median(without))
  results[`req_per_s_with_dashboard_c${concurrency}`] = Math.round(median(withDashboard))
  results[`change_percent_c${concurrency}`] = Number(((ratio - 1) * 100).toFixed(1))
  results[`round_ratios_c${concurrency}`] = ratios.map((value) => Number(value.toFixed(3)))
}
await router.dispose()
rmSync(directory, { recursive: true, force: true })
console.log(JSON.stringify({ name: 'router-dashboard', rounds: ROUNDS, durationMs: DURATION_MS, ...results }))
