// `pnpm bench config`: cold load and one-file reload of a generated tree of 1,000 pools and 1,000 task groups
// (3 echelons each). Targets on a 2-core machine: load ≤ 300 ms, reload ≤ 50 ms.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { checkConfig, type ConfigEvent, createConfigStore } from '@llmpool/config'

const POOLS = Number(process.argv[2] ?? 1000)
const GROUPS = POOLS
const RUNS = 9

function generate(directory: string): void {
  mkdirSync(path.join(directory, 'pools'))
  mkdirSync(path.join(directory, 'task-groups'))
  const registry = ['[registry]', 'version = "1.0.0"', '', '[pools]']
  for (let i = 0; i < POOLS; i++) registry.push(`pool_${i} = { file = "pools/pool-${i}.toml", enabled = true }`)
  registry.push('', '[task_groups]')
  for (let i = 0; i < GROUPS; i++)
    registry.push(`group_${i} = { file = "task-groups/group-${i}.toml", enabled = true }`)
  registry.push('', '[global]', 'config_validation = "strict"', 'enable_hot_reload = true', 'cache_enabled = true')
  writeFileSync(path.join(directory, '_registry.toml'), `${registry.join('\n')}\n`)
  for (let i = 0; i < GROUPS; i++) {
    const echelons = [1, 2, 3].map(
      (level) => `
[task_group.echelons.echelon${level}]
models = ["openai:gpt-4o-${level}", "anthropic:claude-${level}"]
concurrency_limit = ${10 * level}
rpm_limit = ${100 * level}
priority = ${level}
timeout = ${40 - level * 5}
max_retries = 2
temperature = 0.7
max_tokens = 2000
api_key = "\${OPENAI_API_KEY:}"`,
    )
    writeFileSync(
      path.join(directory, 'task-groups', `group-${i}.toml`),
      `[task_group]
name = "group_${i}"
description = "generated task group ${i}"
fallback_strategy = "echelon_down"

[task_group.circuit_breaker]
failure_threshold = 5
recovery_time = 60
half_open_requests = 1

[task_group.fallback]
strategy = "echelon_down"
fallback_groups = ["group_${i}.echelon2", "group_${i}.echelon3"]
max_attempts = 3
retry_delay = 1.0
${echelons.join('\n')}

[task_group.metadata]
index = ${i}
`,
    )
  }
  for (let i = 0; i < POOLS; i++) {
    writeFileSync(
      path.join(directory, 'pools', `pool-${i}.toml`),
      `[pool]
name = "pool_${i}"
task_groups = ["group_${i}"]

[pool.rotation_strategy]
type = "weighted"

[pool.rotation_strategy.options]
weights = { "group_${i}.echelon1" = 10, "group_${i}.echelon2" = 5, "group_${i}.echelon3" = 1 }

[pool.health_check]
interval = 30
failure_threshold = 3
recovery_time = 60

[pool.fallback]
strategy = "${i > 0 ? 'pool_fallback' : 'instance_rotation'}"
max_instance_attempts = 2
fallback_pools = [${i > 0 ? `"pool_${i - 1}"` : ''}]

[pool.rate_limiting]
enabled = true
algorithm = "token_bucket"

[pool.rate_limiting.token_bucket]
bucket_size = 1000
refill_rate = 16.67
`,
    )
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-bench-config-'))
try {
  generate(directory)
  console.log(`generated ${POOLS} pools and ${GROUPS} task groups (3 echelons each) in ${directory}`)

  // Warm-up: the first run also compiles the code paths.
  checkConfig({ directory, env: {} })
  const loads: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now()
    const result = checkConfig({ directory, env: {} })
    loads.push(performance.now() - started)
    if (!result.config) throw new Error(`generated tree is invalid: ${JSON.stringify(result.errors.slice(0, 3))}`)
  }
  console.log(`cold load (read + parse + validate + resolve): median ${median(loads).toFixed(1)} ms over ${RUNS} runs`)

  const store = await createConfigStore({ directory, env: {}, debounceMs: 50 })
  const reloads: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const applied = new Promise<ConfigEvent>((resolve) => {
      const subscription = store.onEvent((event) => {
        if (event.type !== 'reload_applied' && event.type !== 'reload_rejected') return
        subscription.dispose()
        resolve(event)
      })
    })
    const file = path.join(directory, 'pools', `pool-${run * 7}.toml`)
    writeFileSync(file, readFileSync(file, 'utf8').replace(/interval = \d+/, `interval = ${31 + run}`))
    const event = await applied
    if (event.type !== 'reload_applied') throw new Error(`reload was ${event.type}`)
    reloads.push(event.durationMs)
  }
  await store.dispose()
  console.log(
    `reload of one changed file (after the debounce): median ${median(reloads).toFixed(1)} ms over ${RUNS} runs`,
  )
  const rss = process.memoryUsage().rss / 1024 / 1024
  console.log(`rss ${rss.toFixed(0)} MB`)
  console.log(
    JSON.stringify({
      name: 'config',
      pools: POOLS,
      task_groups: GROUPS,
      load_ms: Number(median(loads).toFixed(1)),
      reload_ms: Number(median(reloads).toFixed(1)),
      rss_mb: Number(rss.toFixed(0)),
    }),
  )
} finally {
  rmSync(directory, { recursive: true, force: true })
}
