/**
 * The compiled routing plan, on the design document's own configuration (configs/llms): the worked examples of
 * docs/routing.md ("The plan of configs/llms").
 */
import path from 'node:path'
import { loadConfig, type ResolvedConfig } from '@llmpool/config'
import { beforeAll, describe, expect, test } from 'vitest'
import { type CandidatePlan, compilePlan, type EntryPlan, planToJSON } from '../src/index'
import { configDirectory, layout, setup } from './helpers'

let config: ResolvedConfig
beforeAll(async () => {
  config = await loadConfig({ directory: path.resolve(import.meta.dirname, '../../../configs/llms'), env: {} })
})

const candidates = (entry: EntryPlan): CandidatePlan[] =>
  entry.route.kind === 'task_group'
    ? entry.route.steps.flatMap((step) => step.candidates)
    : entry.route.stages.flatMap((stage) => stage.tiers.flat())
const row = (candidate: CandidatePlan) => [candidate.instance, candidate.attemptTimeoutMs, candidate.maxRetries]

describe('The plan of configs/llms', () => {
  test('fast_group_wrapper: echelon1 → echelon2 → echelon3, each echelon its own timeout and max_retries; 3 instances; deadline 88 s; at most 12 calls', () => {
    const entry = compilePlan(config).entries.get('fast_group_wrapper')!
    expect(entry).toMatchObject({ kind: 'wrapper', target: 'fast_group', file: 'wrappers/task-group-wrappers.toml' })
    expect(entry.route).toMatchObject({
      kind: 'task_group',
      maxInstances: 3,
      stepDelayMs: 1000,
      hedgeAfterMs: undefined,
    })
    expect(candidates(entry).map(row)).toEqual([
      ['fast_group.echelon1/openai:gpt-4o', 30_000, 3],
      ['fast_group.echelon1/anthropic:claude-3-5-sonnet', 30_000, 3],
      ['fast_group.echelon2/openai:gpt-4o-mini', 25_000, 3],
      ['fast_group.echelon2/anthropic:claude-3-haiku', 25_000, 3],
      ['fast_group.echelon3/openai:gpt-3.5-turbo', 20_000, 2],
    ])
    // Room to walk the chain once: the 3 longest attempts (30 + 30 + 25 s), 2 pauses between echelons (1 s each), 1 s margin.
    expect(entry.requestTimeoutMs).toBe(88_000)
    // The 3 instances with the most calls: (1 + 3) × 3.
    expect(entry.maxCalls).toBe(12)
    // [global] of the task-group wrappers file, inheriting the pool wrappers file's error_handling.
    expect(entry.retry).toEqual({
      retryOn: ['timeout', 'rate_limit', 'network_error'],
      baseDelayMs: 250,
      backoffFactor: 2,
      maxRetryDelayMs: 10_000,
    })
    expect(entry.sources.retryOn).toMatch(
      /^wrappers\/pool-wrappers\.toml:\d+: \[global\] error_handling\.retry_on_errors$/,
    )
    expect(entry.services.tools).toEqual({ enabled: true, selection: 'auto' })
    expect(candidates(entry)[0]!.sources).toEqual({
      attemptTimeoutMs: 'task-groups/fast-group.toml:33: task_group.echelons.echelon1.timeout',
      firstTokenTimeoutMs: 'as attemptTimeoutMs (task-groups/fast-group.toml:33: task_group.echelons.echelon1.timeout)',
      maxRetries: 'task-groups/fast-group.toml:34: task_group.echelons.echelon1.max_retries',
    })
  })

  test('fast_pool_wrapper: tiers by priority, round robin within; tries 2 instances; deadline 61 s; at most 8 calls', () => {
    const entry = compilePlan(config).entries.get('fast_pool_wrapper')!
    expect(entry.route.kind).toBe('pool')
    const stages = entry.route.kind === 'pool' ? entry.route.stages : []
    expect(stages.map((stage) => [stage.pool, stage.strategy, stage.maxInstances])).toEqual([
      ['fast_pool', 'round_robin', 2],
    ])
    expect(stages[0]!.tiers.map((tier) => tier.map((candidate) => candidate.instance))).toEqual([
      ['fast_group.echelon1/openai:gpt-4o', 'fast_group.echelon1/anthropic:claude-3-5-sonnet'],
      ['fast_group.echelon2/openai:gpt-4o-mini', 'fast_group.echelon2/anthropic:claude-3-haiku'],
      ['fast_group.echelon3/openai:gpt-3.5-turbo'],
    ])
    expect(entry.requestTimeoutMs).toBe(61_000)
    expect(entry.maxCalls).toBe(8)
    expect(entry.services.cache).toEqual({ maxSize: 1000, ttlMs: 300_000 })
  })

  test('thinking_pool by its own name: weighted (10 / 5 / 1) first tier, then fast_pool (pool_fallback); deadline 121 s; at most 12 calls', () => {
    const entry = compilePlan(config).entries.get('thinking_pool')!
    expect(entry).toMatchObject({ kind: 'pool', target: 'thinking_pool', file: undefined })
    const stages = entry.route.kind === 'pool' ? entry.route.stages : []
    expect(stages.map((stage) => [stage.pool, stage.maxInstances, stage.tiers.length])).toEqual([
      ['thinking_pool', 1, 1],
      ['fast_pool', 2, 3],
    ])
    expect(Object.fromEntries(stages[0]!.weights)).toEqual({
      'thinking_group.echelon1/anthropic:claude-3-5-sonnet': 5,
      'thinking_group.echelon1/openai:gpt-4': 5,
      'thinking_group.echelon2/openai:gpt-4o': 2.5,
      'thinking_group.echelon2/anthropic:claude-3-sonnet': 2.5,
      'thinking_group.echelon3/openai:gpt-3.5-turbo': 1,
    })
    // thinking_pool tries 1 instance (the longest attempt: 60 s), fast_pool 2 (30 + 30 s); 1 s margin.
    expect(entry.requestTimeoutMs).toBe(121_000)
    expect(entry.maxCalls).toBe(4 + 8)
    // Called by its own name: the built-in defaults, no cache.
    expect(entry.retry.retryOn).toEqual(['timeout', 'rate_limit', 'network_error'])
    expect(entry.services.cache).toBeUndefined()
    expect(entry.sources.retryOn).toMatch(/^built-in default/)
  })

  test('the cooldown rules of every instance: the defaults of [task_group.cooldown]', () => {
    const plan = compilePlan(config)
    for (const instance of plan.instances.values())
      expect(instance.cooldown).toEqual({ defaultMs: 5_000, maxMs: 300_000 })
    expect(plan.instances.get('fast_group.echelon1/openai:gpt-4o')!.limits).toEqual([
      { kind: 'sliding_window', windowMs: 61_000, limit: 100 },
      { kind: 'concurrency', limit: 10 },
    ])
  })
})

describe('Defaults and overrides', () => {
  const tree = (echelon = '') => ({
    groups: {
      g: `[task_group.fallback]\nmax_attempts = 2\nretry_delay = 0\n[task_group.echelons.e1]\nmodels = ["mock:a", "mock:b"]\n${echelon}`,
    },
    pools: { p: 'task_groups = ["g"]' },
  })

  /** The plan of pool p, task group g, and wrapper w_wrapper (of p) whose file's [global] is `global`. */
  async function planOf(global: string, echelon = '', overrides = {}) {
    const definition = tree(echelon)
    const files = layout({ groups: definition.groups, pools: definition.pools })
    files['_registry.toml'] += '\n[wrappers]\nw = { file = "wrappers/w.toml" }\n'
    files['wrappers/w.toml'] = `[wrappers]\nw_wrapper = { type = "pool", pool_name = "p" }\n[global]\n${global}\n`
    const loaded = await loadConfig({ directory: configDirectory(files), env: {} })
    return compilePlan(loaded, overrides)
  }

  test("an echelon without timeout or max_retries takes its entry's [global] default_timeout and max_retries; by its own name, 30 s and 3", async () => {
    const plan = await planOf('default_timeout = 12\nmax_retries = 1')
    expect(candidates(plan.entries.get('w_wrapper')!).map(row)).toEqual([
      ['g.e1/mock:a', 12_000, 1],
      ['g.e1/mock:b', 12_000, 1],
    ])
    expect(candidates(plan.entries.get('p')!).map(row)).toEqual([
      ['g.e1/mock:a', 30_000, 3],
      ['g.e1/mock:b', 30_000, 3],
    ])
    expect(candidates(plan.entries.get('w_wrapper')!)[0]!.sources.attemptTimeoutMs).toMatch(
      /^wrappers\/w\.toml:\d+: \[global\] default_timeout$/,
    )
    expect(candidates(plan.entries.get('p')!)[0]!.sources.attemptTimeoutMs).toMatch(/^built-in default/)
  })

  test("the echelon's own timeout and max_retries win over [global]", async () => {
    const plan = await planOf('default_timeout = 12\nmax_retries = 1', 'timeout = 4\nmax_retries = 0')
    expect(candidates(plan.entries.get('w_wrapper')!).map(row)).toEqual([
      ['g.e1/mock:a', 4_000, 0],
      ['g.e1/mock:b', 4_000, 0],
    ])
  })

  test('[global] request_timeout sets the deadline; a router option wins over every file', async () => {
    expect((await planOf('request_timeout = 7')).entries.get('w_wrapper')!.requestTimeoutMs).toBe(7_000)
    // p by its own name: 2 instances × 30 s + 1 s.
    expect((await planOf('request_timeout = 7')).entries.get('p')!.requestTimeoutMs).toBe(61_000)
    const overridden = await planOf('request_timeout = 7', '', { requestTimeoutMs: 5_000, attemptBudget: 3 })
    expect(overridden.entries.get('w_wrapper')).toMatchObject({
      requestTimeoutMs: 5_000,
      maxCalls: 3,
      sources: { requestTimeoutMs: 'router option', maxCalls: 'router option' },
    })
  })

  test("api_keys: one instance per key, never the key in the plan's JSON", async () => {
    const loaded = await setup({
      groups: {
        g: '[task_group.echelons.e1]\nmodels = ["mock:a", "mock:b"]\napi_keys = ["sk-one-secret-1", "sk-two-secret-2"]',
      },
    })
    const plan = compilePlan(loaded)
    expect([...plan.instances.keys()]).toEqual(['g.e1/mock:a#1', 'g.e1/mock:a#2', 'g.e1/mock:b#1', 'g.e1/mock:b#2'])
    expect(plan.instances.get('g.e1/mock:a#2')).toMatchObject({ keyIndex: 2, apiKey: 'sk-two-secret-2' })
    const text = JSON.stringify(planToJSON(plan))
    expect(text).not.toContain('sk-one-secret-1')
    expect(text).not.toContain('sk-two-secret-2')
  })
})
