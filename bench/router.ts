// `pnpm bench router`: what routing adds to a call, in process, and routed requests/s over real HTTP.
// - In process: the same instant in-memory model called directly and through a pool (memory limits, breaker,
//   health, metrics on), at concurrency 1 and 100: median and p99 µs per request, and the difference.
// - Throughput on one core: routed requests/s with the instant model.
// - Over HTTP: routed requests/s against the mock upstream (in another process), through the openai provider.
// Targets: ≤ 15 µs median added per request in process; ≥ 50,000 routed requests/s on one core.
import { fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider'
import { loadConfig } from '@llmpool/config'
import { Router } from '@llmpool/router'

const directories: string[] = []
async function configWith(files: Record<string, string>) {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-bench-router-'))
  directories.push(directory)
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
    writeFileSync(path.join(directory, file), text)
  }
  return loadConfig({ directory, env: {} })
}

const tree = (models: string, extra = '') => ({
  '_registry.toml':
    '[pools]\npool = { file = "pools/pool.toml" }\n[task_groups]\ngroup = { file = "task-groups/group.toml" }\n',
  'pools/pool.toml': `[pool]
name = "pool"
task_groups = ["group"]
[pool.rate_limiting]
enabled = true
[pool.rate_limiting.token_bucket]
bucket_size = 1000000000
refill_rate = 1000000000
`,
  'task-groups/group.toml': `[task_group]
name = "group"
[task_group.echelons.main]
models = [${models}]
concurrency_limit = 100000
rpm_limit = 1000000
${extra}`,
})

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

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** Per-request latency (µs) of `requests` calls made by `concurrency` loops. */
async function latencies(fn: () => PromiseLike<unknown>, concurrency: number, requests: number) {
  const samples: number[] = []
  let left = requests
  const loop = async () => {
    while (left-- > 0) {
      const started = process.hrtime.bigint()
      await fn()
      samples.push(Number(process.hrtime.bigint() - started) / 1000)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, loop))
  const seconds = (performance.now() - started) / 1000
  samples.sort((a, b) => a - b)
  return { medianUs: quantile(samples, 0.5), p99Us: quantile(samples, 0.99), perSecond: requests / seconds }
}

const config = await configWith(tree('"memory:a", "memory:b"'))
const router = new Router({
  config,
  providers: { memory: { createModel: ({ modelId }) => instantModel(modelId) } },
  healthChecks: false,
})
const direct = instantModel('a')

const results: Record<string, number> = {}
for (const concurrency of [1, 100]) {
  const requests = concurrency === 1 ? 100_000 : 200_000
  await latencies(() => direct.doGenerate(call), concurrency, 20_000) // warm-up
  await latencies(() => router.generate('pool', call), concurrency, 20_000)
  const plain = await latencies(() => direct.doGenerate(call), concurrency, requests)
  const routed = await latencies(() => router.generate('pool', call), concurrency, requests)
  const addedMedian = routed.medianUs - plain.medianUs
  const addedP99 = routed.p99Us - plain.p99Us
  console.log(
    `in process, concurrency ${concurrency}: direct median ${plain.medianUs.toFixed(2)} µs, routed median ${routed.medianUs.toFixed(2)} µs ` +
      `(p99 ${routed.p99Us.toFixed(1)} µs): added ${addedMedian.toFixed(2)} µs median, ${addedP99.toFixed(1)} µs p99; ${Math.round(routed.perSecond)} routed req/s`,
  )
  results[`added_median_us_c${concurrency}`] = Number(addedMedian.toFixed(2))
  results[`added_p99_us_c${concurrency}`] = Number(addedP99.toFixed(1))
  results[`routed_median_us_c${concurrency}`] = Number(routed.medianUs.toFixed(2))
  results[`routed_req_per_s_c${concurrency}`] = Math.round(routed.perSecond)
  // At concurrency 100 a request's latency is mostly its wait behind the 99 others: the cost routing adds is better
  // read from throughput, as CPU time per request.
  const addedCpuUs = 1e6 / routed.perSecond - 1e6 / plain.perSecond
  console.log(
    `  CPU per request at concurrency ${concurrency}: ${(1e6 / routed.perSecond).toFixed(2)} µs routed, ${addedCpuUs.toFixed(2)} µs added`,
  )
  results[`added_cpu_us_per_request_c${concurrency}`] = Number(addedCpuUs.toFixed(2))
}
await router.dispose()

// Over HTTP: the mock upstream in its own process, so that it does not share this core.
const mock = fork(path.join(import.meta.dirname, 'router-upstream.ts'), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const url = await new Promise<string>((resolve, reject) => {
  mock.once('message', (message) => resolve(String(message)))
  mock.once('exit', (code) => reject(new Error(`mock upstream exited with ${code}`)))
})
try {
  const httpConfig = await configWith(
    tree('"openai:model-a", "openai:model-b"', `api_key = "bench"\nbase_url = "${url}/v1"\n`),
  )
  const httpRouter = new Router({ config: httpConfig, healthChecks: false })
  await latencies(() => httpRouter.generate('pool', call), 50, 2_000)
  const http = await latencies(() => httpRouter.generate('pool', call), 50, 20_000)
  console.log(
    `over HTTP (openai provider → mock upstream), concurrency 50: ${Math.round(http.perSecond)} routed req/s, median ${(http.medianUs / 1000).toFixed(2)} ms, p99 ${(http.p99Us / 1000).toFixed(2)} ms`,
  )
  results.http_routed_req_per_s = Math.round(http.perSecond)
  results.http_median_ms = Number((http.medianUs / 1000).toFixed(2))
  await httpRouter.dispose()
} finally {
  mock.kill()
  for (const directory of directories) rmSync(directory, { recursive: true, force: true })
}

console.log(JSON.stringify({ name: 'router', ...results }))
