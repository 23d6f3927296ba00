import type { ResolvedConfig } from '@llmpool/config'
import type { Pool, TaskGroup, TaskGroupWrappersGlobal } from '@llmpool/schema'
import { echelonsByPriority } from './instances'
import { sourceOf } from './sources'
import type { CandidatePlan, GroupRoutePlan, InstancePlan, PoolRoutePlan, PoolStagePlan, Source } from './types'

/** The `[global]` an entry reads its defaults from, and where it is written. */
export interface GlobalSettings {
  values: Pick<TaskGroupWrappersGlobal, 'default_timeout' | 'max_retries'>
  /** Where `default_timeout` and `max_retries` come from. */
  sources: { default_timeout: Source; max_retries: Source }
}

/** What routes are compiled from. */
export interface RouteContext {
  config: ResolvedConfig
  instances: ReadonlyMap<string, InstancePlan>
  /** Instance keys by `group.echelon`. */
  byEchelon: ReadonlyMap<string, readonly string[]>
}

/** An instance as an entry reaches it: the echelon's own timeout and retries, else the entry's `[global]` ones. */
function candidate(context: RouteContext, key: string, global: GlobalSettings): CandidatePlan {
  const instance = context.instances.get(key)!
  const echelon = context.config.task_groups[instance.group]!.echelons[instance.echelon]!
  const own = (name: string) =>
    sourceOf(
      context.config,
      'task_group',
      instance.group,
      ['echelons', instance.echelon, name],
      `task_group.echelons.${instance.echelon}.${name}`,
    )
  const attemptTimeoutMs = (echelon.timeout ?? global.values.default_timeout) * 1000
  const attemptSource = echelon.timeout !== undefined ? own('timeout') : global.sources.default_timeout
  return {
    instance: key,
    attemptTimeoutMs,
    firstTokenTimeoutMs:
      echelon.first_token_timeout !== undefined ? echelon.first_token_timeout * 1000 : attemptTimeoutMs,
    maxRetries: echelon.max_retries ?? global.values.max_retries,
    sources: {
      attemptTimeoutMs: attemptSource,
      firstTokenTimeoutMs:
        echelon.first_token_timeout !== undefined
          ? own('first_token_timeout')
          : `as attemptTimeoutMs (${attemptSource})`,
      maxRetries: echelon.max_retries !== undefined ? own('max_retries') : global.sources.max_retries,
    },
  }
}

/**
 * A task group's chain of echelons. `echelon_down`: its best echelon, then `fallback_groups` (or, when that is
 * empty, its following echelons). `group_fallback`: all its echelons, then those of `fallback_groups`. An entry
 * `group` stands for all that group's echelons by priority; `group.echelon` for one. No echelon twice.
 */
function chainOf(config: ResolvedConfig, name: string, group: TaskGroup): string[] {
  const own = echelonsByPriority(group).map(([echelon]) => `${name}.${echelon}`)
  const expand = (reference: string): string[] => {
    if (reference.includes('.')) return [reference]
    const target = config.task_groups[reference]
    return target ? echelonsByPriority(target).map(([echelon]) => `${reference}.${echelon}`) : []
  }
  const fallbacks = group.fallback.fallback_groups.flatMap(expand)
  const labels =
    group.fallback.strategy === 'echelon_down'
      ? [own[0]!, ...(fallbacks.length > 0 ? fallbacks : own.slice(1))]
      : [...own, ...fallbacks]
  return [...new Set(labels)]
}

export function groupRoute(context: RouteContext, name: string, global: GlobalSettings): GroupRoutePlan {
  const group = context.config.task_groups[name]!
  const file = context.config.source.files.task_groups[name] ?? name
  const at = (path: string[]) => sourceOf(context.config, 'task_group', name, path, `task_group.${path.join('.')}`)
  return {
    kind: 'task_group',
    group: name,
    steps: chainOf(context.config, name, group).map((label) => ({
      label,
      candidates: (context.byEchelon.get(label) ?? []).map((key) => candidate(context, key, global)),
    })),
    maxInstances: group.fallback.max_attempts,
    stepDelayMs: group.fallback.retry_delay * 1000,
    hedgeAfterMs: group.fallback.hedge_after === undefined ? undefined : group.fallback.hedge_after * 1000,
    sources: {
      steps: `${file}: task_group.fallback (strategy ${group.fallback.strategy}, fallback_groups)`,
      maxInstances: at(['fallback', 'max_attempts']),
      stepDelayMs: at(['fallback', 'retry_delay']),
      hedgeAfterMs: group.fallback.hedge_after === undefined ? 'not set: no hedging' : at(['fallback', 'hedge_after']),
    },
  }
}

/**
 * A pool's tiers. Non-weighted strategies: by echelon priority, and within one priority by the order of the pool's
 * `task_groups` (earlier groups first: a preference); the strategy orders each tier. `weighted` with weights: the
 * weighted echelons form the first tier whatever their priority or group, and the rest follow by priority.
 */
function stageOf(context: RouteContext, name: string, pool: Pool, global: GlobalSettings): PoolStagePlan {
  const file = context.config.source.files.pools[name] ?? name
  const at = (path: string[]) => sourceOf(context.config, 'pool', name, path, `pool.${path.join('.')}`)
  const configured = pool.rotation_strategy.options.weights
  const weighted = pool.rotation_strategy.type === 'weighted' && Object.keys(configured).length > 0
  const weights = new Map<string, number>()
  const weightedTier: CandidatePlan[] = []
  /** Tiers by (priority, group position) — or by priority alone for the unweighted rest of a weighted pool. */
  const tiers = new Map<string, { order: [number, number]; candidates: CandidatePlan[] }>()
  pool.task_groups.forEach((groupName, groupIndex) => {
    const group = context.config.task_groups[groupName]
    if (!group) return
    for (const [echelonName, echelon] of echelonsByPriority(group)) {
      const label = `${groupName}.${echelonName}`
      const keys = context.byEchelon.get(label) ?? []
      const weight = weighted ? (configured[label] ?? 0) : 1
      for (const key of keys) weights.set(key, keys.length > 0 ? weight / keys.length : 0)
      const candidates = keys.map((key) => candidate(context, key, global))
      if (weighted && weight > 0) {
        weightedTier.push(...candidates)
        continue
      }
      const priority = echelon.priority ?? 1
      const order: [number, number] =
        weighted || pool.rotation_strategy.type === 'weighted' ? [priority, 0] : [priority, groupIndex]
      const id = order.join(':')
      const tier = tiers.get(id) ?? { order, candidates: [] }
      tier.candidates.push(...candidates)
      tiers.set(id, tier)
    }
  })
  const ordered = [...tiers.values()]
    .sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1])
    .map((tier) => tier.candidates)
  if (weightedTier.length > 0) ordered.unshift(weightedTier)
  // In the fallback tiers of a weighted pool, unweighted instances are picked evenly.
  if (weighted)
    for (const tier of ordered.slice(1))
      for (const entry of tier) if (!weights.get(entry.instance)) weights.set(entry.instance, 1)
  return {
    pool: name,
    strategy: pool.rotation_strategy.type,
    tiers: ordered.filter((tier) => tier.length > 0),
    weights,
    maxInstances: pool.fallback.max_instance_attempts,
    hedgeAfterMs: pool.fallback.hedge_after === undefined ? undefined : pool.fallback.hedge_after * 1000,
    sources: {
      tiers: `${file}: pool.task_groups (by echelon priority, then group order)${weighted ? ' and pool.rotation_strategy.options.weights' : ''}`,
      strategy: at(['rotation_strategy', 'type']),
      maxInstances: at(['fallback', 'max_instance_attempts']),
      hedgeAfterMs: pool.fallback.hedge_after === undefined ? 'not set: no hedging' : at(['fallback', 'hedge_after']),
    },
  }
}

/** A pool, then (under `pool_fallback`) its fallback pools in order, each once: fallbacks never loop. */
export function poolRoute(context: RouteContext, name: string, global: GlobalSettings): PoolRoutePlan {
  const names = [name]
  const pool = context.config.pools[name]!
  if (pool.fallback.strategy === 'pool_fallback') {
    for (const fallback of pool.fallback.fallback_pools)
      if (context.config.pools[fallback] && !names.includes(fallback)) names.push(fallback)
  }
  return { kind: 'pool', stages: names.map((stage) => stageOf(context, stage, context.config.pools[stage]!, global)) }
}
