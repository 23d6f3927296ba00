// `pnpm demo`: the main job. Starts the fault-injecting mock upstream in this process (or, with --live and real
// keys, uses the real providers), loads configs/llms, and drives a mixed burst of requests through every enabled
// pool and task group while one model fails, one is rate-limited and one is slow. Shows live progress and ends with
// a table per pool and instance. With --dashboard, the live page of @llmpool/dashboard shows it all at a printed URL,
// and the traffic goes on in rounds until Ctrl-C.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { type ConfigStore, createConfigStore, loadConfig } from '@llmpool/config'
import { dashboardHandler } from '@llmpool/dashboard'
import { Router, type RouterEvent } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { planFacts } from './causes'
import { Progress } from './progress'
import { printCauses, printTables } from './report'
import { story } from './story'
import { Tally } from './tally'

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/llms' },
    requests: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '40' },
    live: { type: 'boolean', default: false },
    dashboard: { type: 'boolean', default: false },
    'dashboard-port': { type: 'string', default: '0' },
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
  'claude-3-haiku': {
    failing: '429 (retry-after 1 s) on 60 % of calls',
    fault: { status: 429, retryAfter: 1, rate: 0.6 },
  },
  'claude-3-sonnet': { failing: '429 with retry-after 5 s on every call', fault: { status: 429, retryAfter: 5 } },
  'gpt-4o-mini': { failing: 'answers after 600 ms', fault: { latencyMs: 600 } },
  'gpt-4': { failing: 'never answers (hangs)', fault: { hang: true } },
} as const
/** The demo's overlay: every echelon's attempt timeout, so that the hanging model costs seconds, not a minute. */
const DEMO_TIMEOUT_S = 2
/** And hedging where the slow model answers most requests: a second call goes out when one takes longer than this. */
const DEMO_HEDGE = { group: 'execute_group', afterSeconds: 0.3 }

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
  configDirectory = withDemoOverlay(directory, DEMO_TIMEOUT_S, DEMO_HEDGE)
  environment = 'demo'
  console.log(
    `attempt timeouts: ${DEMO_TIMEOUT_S} s; ${DEMO_HEDGE.group} hedges after ${DEMO_HEDGE.afterSeconds} s (an overlay, task-groups/*.demo.toml, over a copy of the configuration)`,
  )
}

// With the dashboard, a configuration store: the page shows its hash, version and history.
const store: ConfigStore | undefined = values.dashboard
  ? await createConfigStore({ directory: configDirectory, environment, env: process.env, watch: false })
  : undefined
const config = store ? store.current : await loadConfig({ directory: configDirectory, environment, env: process.env })
// Everything else as the files say: deadlines, retries and cooldowns come from the routing plan (docs/routing.md).
const router = new Router({ config: store ?? config, healthChecks: false })
// The tables and the story are counted from the router's events: each attempt says which pool or task group made it.
const tally = new Tally(planFacts(router))
router.on((event: RouterEvent) => tally.record(event))

/** `--dashboard`: the live page on a server of its own (127.0.0.1 only: it has no token). */
let stopDashboard: (() => Promise<void>) | undefined
if (values.dashboard) {
  const port = Number(values['dashboard-port'])
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
    console.error('--dashboard-port takes a port number (0: any free one)')
    process.exit(2)
  }
  const dashboard = dashboardHandler({ router, ...(store ? { store } : {}) })
  const server = createServer((request, response) => void dashboard(request, response))
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  console.log(
    `dashboard: http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/ (open it now: the traffic goes on until Ctrl-C)`,
  )
  stopDashboard = async () => {
    dashboard.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/**
 * A copy of `source` with an overlay per task-group file (`x.demo.toml`) that sets every echelon's `timeout`, and
 * `fallback.hedge_after` for the group `hedge` names: the configuration itself stays as written.
 */
function withDemoOverlay(
  source: string,
  timeoutSeconds: number,
  hedge: { group: string; afterSeconds: number },
): string {
  const copy = mkdtempSync(path.join(tmpdir(), 'llmpool-demo-'))
  cpSync(source, copy, { recursive: true })
  const groups = path.join(copy, 'task-groups')
  for (const file of readdirSync(groups).filter((name) => name.endsWith('.toml') && !name.includes('.demo.'))) {
    const text = readFileSync(path.join(groups, file), 'utf8')
    const echelons = [...text.matchAll(/^\[task_group\.echelons\.([\w-]+)\]/gm)].map((match) => match[1]!)
    let overlay = echelons
      .map((echelon) => `[task_group.echelons.${echelon}]\ntimeout = ${timeoutSeconds}\n`)
      .join('\n')
    if (/^name\s*=\s*"([^"]+)"/m.exec(text)?.[1] === hedge.group)
      overlay += `\n[task_group.fallback]\nhedge_after = ${hedge.afterSeconds}\n`
    writeFileSync(path.join(groups, file.replace(/\.toml$/, '.demo.toml')), overlay)
  }
  return copy
}

const targets = [...Object.keys(config.pools), ...Object.keys(config.task_groups)]
console.log(
  `configuration ${path.relative(process.cwd(), directory) || '.'}: ${Object.keys(config.pools).length} pools, ${Object.keys(config.task_groups).length} task groups`,
)
console.log(`sending ${requests} requests over ${targets.join(', ')} (${concurrency} at a time)\n`)

/** One burst: `requests` requests round the targets, `concurrency` at a time. */
async function burst(progress: Progress | undefined) {
  const started = Date.now()
  let next = 0
  let ok = 0
  let failed = 0
  const failures = new Map<string, number>()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests && !stopping) {
        const index = next++
        const target = targets[index % targets.length]!
        const call: LanguageModelV3CallOptions = {
          prompt: [{ role: 'user', content: [{ type: 'text', text: `request ${index}: say hello` }] }],
        }
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
        progress?.update(ok + failed, failed)
      }
    }),
  )
  return { ok, failed, failures, seconds: (Date.now() - started) / 1000 }
}

let stopping = false
const progress = new Progress(requests, process.stdout)
const first = await burst(progress)
progress.done()

printTables(tally, console.log)
printCauses(tally, console.log)
console.log(
  `\n${first.ok} of ${requests} requests answered, ${first.failed} failed, in ${first.seconds.toFixed(1)} s (${Math.round(requests / first.seconds)} req/s)`,
)
for (const [code, count] of first.failures) console.log(`  failed with ${code}: ${count}`)
console.log('\nwhat happened')
for (const line of story(tally, first.seconds)) console.log(`  ${line}`)

if (stopDashboard) {
  // The page stays live: the same targets and faults, at a steady pace that the configuration's rpm limits allow
  // (a burst a minute would use them up), with a line every 10 s, until Ctrl-C.
  const stopped = new Promise<void>((resolve) =>
    process.once('SIGINT', () => {
      stopping = true
      resolve()
    }),
  )
  const pause = (ms: number) => Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, ms))])
  console.log('\nsteady traffic for the dashboard (about 5 requests/s); Ctrl-C to stop')
  let sent = 0
  let answered = 0
  const report = setInterval(
    () => console.log(`${new Date().toLocaleTimeString()}: ${answered} of ${sent} requests answered so far`),
    10_000,
  )
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!stopping) {
        const target = targets[sent++ % targets.length]!
        const call: LanguageModelV3CallOptions = {
          prompt: [{ role: 'user', content: [{ type: 'text', text: `request ${sent}: say hello` }] }],
        }
        try {
          if (sent % 4 === 3) {
            const result = await router.stream(target, call)
            for await (const part of result.stream) if (part.type === 'error') throw part.error
          } else await router.generate(target, call)
          answered++
        } catch {
          // Counted as not answered; the dashboard's event feed says why.
        }
        await pause(800)
      }
    }),
  )
  clearInterval(report)
  console.log(`stopped: ${answered} of ${sent} requests answered`)
  await stopDashboard()
  await store?.dispose()
}
await router.dispose()
await upstream?.close()
