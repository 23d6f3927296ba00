// `pnpm demo`: the main job. Starts the fault-injecting mock upstream in this process (or, with --live and real
// keys, uses the real providers), loads configs/llms, and drives a mixed burst of requests through every enabled
// pool and task group while one model fails, one is rate-limited and one is slow. Shows live progress and ends with
// a table per pool and instance.
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { loadConfig } from '@llmpool/config'
import { anthropicProvider, openAIProvider, type ProviderDefinition, Router, type RouterEvent } from '@llmpool/router'
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

/** The faults of the demo: which model fails, which is rate-limited, which is slow. */
const FAULTS = {
  'gpt-4o': { failing: '500 on every call', fault: { status: 500 } },
  'claude-3-haiku': { failing: '429 (retry-after 1 s) on 60 % of calls', fault: { status: 429, retryAfter: 1, rate: 0.6 } },
  'gpt-4o-mini': { failing: 'answers after 600 ms', fault: { latencyMs: 600 } },
} as const

let upstream: MockUpstream | undefined
let providers: Record<string, ProviderDefinition> | undefined
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
  // The configuration names real providers; point them at the mock upstream.
  const toMock = (provider: ProviderDefinition): ProviderDefinition => ({
    createModel: (settings) => provider.createModel({ ...settings, baseURL: `${upstream!.url}/v1`, apiKey: 'demo-key' }),
  })
  providers = { openai: toMock(openAIProvider()), anthropic: toMock(anthropicProvider()) }
  console.log(`mock upstream at ${upstream.url}; faults:`)
  for (const [model, { failing }] of Object.entries(FAULTS)) console.log(`  ${model.padEnd(16)} ${failing}`)
}

const config = await loadConfig({ directory })
// The failing model's retries would spend a default budget of 10 before its breaker opens: give the demo room.
const router = new Router({ config, providers, healthChecks: false, requestTimeoutMs: 20_000, attemptBudget: 16, retry: { maxRetryDelayMs: 2_000 } })
const tally = new Tally()
router.on((event: RouterEvent) => tally.record(event))

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
