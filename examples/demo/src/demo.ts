// `pnpm demo`: the main job. Starts the fault-injecting mock upstream in this process (or, with --live and real
// keys, uses the real providers), loads configs/llms, and drives a mixed burst of requests through every enabled
// pool and task group while one model fails, one is rate-limited and one is slow. Shows live progress and ends with
// a table per pool and instance.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { loadConfig } from '@llmpool/config'
import { Router, type RouterEvent } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { Progress } from './progress'
import { printTables, Tally } from './report'

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/llms' },
    requests: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '40' },
    live: { type: 'boolean', default: false },
  },
})
const requests = Number(values.requests)
const concurrency = Number(values.concurrency)
if (!(Number.isInteger(requests) && requests > 0) || !(Number.isInteger(concurrency) && concurrency > 0)) {
  console.error('--requests and --concurrency take whole numbers > 0')
  process.exit(2)
}
const root = path.resolve(import.meta.dirname, '../../..')
const directory = path.resolve(process.env.INIT_CWD ?? root, values.config!)

/** The faults of the demo: which model fails, which is rate-limited, which is slow, which hangs. */
const FAULTS = {
  'gpt-4o': { failing: '500 on every call', fault: { status: 500 } },
  'claude-3-haiku': { failing: '429 (retry-after 1 s) on 60 % of calls', fault: { status: 429, retryAfter: 1, rate: 0.6 } },
  'claude-3-sonnet': { failing: '429 with retry-after 5 s on every call', fault: { status: 429, retryAfter: 5 } },
  'gpt-4o-mini': { failing: 'answers after 600 ms', fault: { latencyMs: 600 } },
  'gpt-4': { failing: 'never answers (hangs)', fault: { hang: true } },
} as const
/** The demo's overlay: every echelon's attempt timeout, so that the hanging model costs seconds, not a minute. */
const DEMO_TIMEOUT_S = 2

let upstream: MockUpstream | undefined
let configDirectory = directory
let environment: string | undefined
if (values.live) {
  if (!process.env.OPENAI_API_KEY && !process.env.ANTHROPIC_API_KEY) {
    console.error('--live needs OPENAI_API_KEY and/or ANTHROPIC_API_KEY in the environment')
    process.exit(2)
  }
  console.log(`live mode: real providers, ${requests} requests`)
} else {
  upstream = await createMockUpstream({ recordBodies: false, maxRecordedRequests: 0 })
  for (const [model, { fault }] of Object.entries(FAULTS)) upstream.setFaults(model, fault)
  upstream.setFaults('*', { latencyMs: 40, jitterMs: 80 })
  // The configuration names the real providers; point them at the mock upstream as a user would point them anywhere.
  process.env.OPENAI_BASE_URL = `${upstream.url}/v1`
  process.env.ANTHROPIC_BASE_URL = `${upstream.url}/v1`
  process.env.OPENAI_API_KEY = 'sk-demo-key'
  process.env.ANTHROPIC_API_KEY = 'sk-ant-demo-key'
  console.log(`mock upstream at ${upstream.url}; faults:`)
  for (const [model, { failing }] of Object.entries(FAULTS)) console.log(`  ${model.padEnd(16)} ${failing}`)
  configDirectory = withDemoOverlay(directory, DEMO_TIMEOUT_S)
  environment = 'demo'
  console.log(`attempt timeouts: ${DEMO_TIMEOUT_S} s (an overlay, task-groups/*.demo.toml, over a copy of the configuration)`)
}

const config = await loadConfig({ directory: configDirectory, environment, env: process.env })
// Everything else as the files say: deadlines, retries and cooldowns come from the routing plan (docs/routing.md).
const router = new Router({ config, healthChecks: false })
const tally = new Tally()
router.on((event: RouterEvent) => tally.record(event))

/**
 * A copy of `source` with an overlay per task-group file (`x.demo.toml`) that sets every echelon's `timeout`: the
 * configuration itself stays as written.
 */
function withDemoOverlay(source: string, timeoutSeconds: number): string {
  const copy = mkdtempSync(path.join(tmpdir(), 'llmpool-demo-'))
  cpSync(source, copy, { recursive: true })
  const groups = path.join(copy, 'task-groups')
  for (const file of readdirSync(groups).filter((name) => name.endsWith('.toml') && !name.includes('.demo.'))) {
    const echelons = [...readFileSync(path.join(groups, file), 'utf8').matchAll(/^\[task_group\.echelons\.([\w-]+)\]/gm)].map((match) => match[1]!)
    const overlay = echelons.map((echelon) => `[task_group.echelons.${echelon}]\ntimeout = ${timeoutSeconds}\n`).join('\n')
    writeFileSync(path.join(groups, file.replace(/\.toml$/, '.demo.toml')), overlay)
  }
  return copy
}

const targets = [...Object.keys(config.pools), ...Object.keys(config.task_groups)]
console.log(`configuration ${path.relative(process.cwd(), directory) || '.'}: ${Object.keys(config.pools).length} pools, ${Object.keys(config.task_groups).length} task groups`)
console.log(`sending ${requests} requests over ${targets.join(', ')} (${concurrency} at a time)\n`)

const progress = new Progress(requests, process.stdout)
const started = Date.now()
let next = 0
let ok = 0
let failed = 0
const failures = new Map<string, number>()
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const index = next++
      const target = targets[index % targets.length]!
      const call: LanguageModelV3CallOptions = { prompt: [{ role: 'user', content: [{ type: 'text', text: `request ${index}: say hello` }] }] }
      try {
        if (index % 4 === 3) {
          const result = await router.stream(target, call)
          for await (const part of result.stream) if (part.type === 'error') throw part.error
        } else await router.generate(target, call)
        ok++
      } catch (error) {
        failed++
        const code = (error as { code?: string }).code ?? (error as Error).name
        failures.set(code, (failures.get(code) ?? 0) + 1)
      }
      progress.update(ok + failed, failed)
    }
  }),
)
progress.done()
const seconds = (Date.now() - started) / 1000

printTables(tally, console.log)
console.log(`\n${ok} of ${requests} requests answered, ${failed} failed, in ${seconds.toFixed(1)} s (${Math.round(requests / seconds)} req/s)`)
for (const [code, count] of failures) console.log(`  failed with ${code}: ${count}`)

await router.dispose()
await upstream?.close()
