import type { ResolvedConfig } from '@llmpool/config'
import type { Limiter, LimiterBackend } from '@llmpool/limiter'
import { poolLimitSpec } from '@llmpool/limiter'
import type { Clock, HealthCheck, Pool, TaskGroup } from '@llmpool/schema'
import { fingerprint, type HealthSettings, instanceConfig, InstanceRuntime } from './instance'
import type { ProviderRegistry } from './providers'
import type { RotationStrategy, RotationStrategyFactory } from './strategies/index'

/** A pool as the router runs it. */
export interface PoolRuntime {
  name: string
  config: Pool
  /** Instances in the order tiers are tried: by echelon priority (under `weighted`: the weighted echelons first). */
  tiers: InstanceRuntime[][]
  /** `weighted`: weight of each instance (its echelon's weight over the echelon's instances). */
  weights: Map<string, number>
  /** `[pool.rate_limiting]`, when enabled. */
  limiter: Limiter | undefined
  strategy: RotationStrategy
  /** What the limiter and the strategy were made from, to keep them across reloads when unchanged. */
  limiterKey: string
  strategyKey: string
  /** Filled on first use: the pool and its fallback pools, in order (a topology never changes once built). */
  chain?: PoolRuntime[]
  /** Filled on first use: the strategy's order for a request, with its rotation context. */
  order?: (listIndex: number, candidates: InstanceRuntime[]) => InstanceRuntime[]
}

/** One step of a task group's fallback chain: an echelon and its instances. */
export interface GroupStep {
  /** `task_group.echelon` */
  label: string
  instances: InstanceRuntime[]
}

/** A task group as the router runs it. */
export interface GroupRuntime {
  name: string
  config: TaskGroup
  /** The echelons a request walks, in order (see docs/routing.md). */
  steps: GroupStep[]
  /** Round-robin cursor per step label. */
  cursors: Map<string, number>
}

export interface TopologyOptions {
  providers: ProviderRegistry
  limits: LimiterBackend
  clock: Clock
  strategies: Record<string, RotationStrategyFactory>
  onHealthChange(instance: InstanceRuntime, healthy: boolean, reason: string): void
}

const DEFAULT_HEALTH: HealthCheck = { interval: 30, failure_threshold: 3, recovery_time: 60 }

/** Of all pools containing a group: probe as often, react as early and rest as long as the strictest asks. */
function healthOfGroups(config: ResolvedConfig): Map<string, HealthSettings> {
  const result = new Map<string, HealthSettings>()
  for (const pool of Object.values(config.pools)) {
    for (const group of pool.task_groups) {
      const check = pool.health_check
      const previous = result.get(group)
      result.set(group, {
        failureThreshold: Math.min(previous?.failureThreshold ?? Number.POSITIVE_INFINITY, check.failure_threshold),
        recoveryTimeMs: Math.max(previous?.recoveryTimeMs ?? 0, check.recovery_time * 1000),
        intervalMs: Math.min(previous?.intervalMs ?? Number.POSITIVE_INFINITY, check.interval * 1000),
      })
    }
  }
  return result
}

function orderedEchelons(group: TaskGroup): [string, TaskGroup['echelons'][string]][] {
  return Object.entries(group.echelons)
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry[1].priority ?? 0) - (b.entry[1].priority ?? 0) || a.index - b.index)
    .map(({ entry }) => entry)
}

/**
 * The instances, pools and task groups of one configuration. Built anew on every reload, reusing the runtime of
 * every instance (breaker, limiter, health) and of every pool limiter and strategy whose configuration did not change.
 */
export class Topology {
  readonly instances = new Map<string, InstanceRuntime>()
  readonly pools = new Map<string, PoolRuntime>()
  readonly groups = new Map<string, GroupRuntime>()
  /** Instances of the previous topology that this one does not use: they finish their calls, then go. */
  readonly retired: InstanceRuntime[] = []

  constructor(
    readonly config: ResolvedConfig,
    previous: Topology | undefined,
    options: TopologyOptions,
  ) {
    const health = healthOfGroups(config)
    const instancesOfEchelon = new Map<string, InstanceRuntime[]>()
    const echelonsOfGroup = new Map<string, string[]>()

    for (const [groupName, group] of Object.entries(config.task_groups)) {
      const groupHealth = health.get(groupName) ?? {
        failureThreshold: DEFAULT_HEALTH.failure_threshold,
        recoveryTimeMs: DEFAULT_HEALTH.recovery_time * 1000,
        intervalMs: undefined,
      }
      for (const [echelonName, echelon] of orderedEchelons(group)) {
        const instances: InstanceRuntime[] = []
        for (const model of echelon.models) {
          const definition = instanceConfig(groupName, echelonName, echelon, model, group.circuit_breaker, groupHealth)
          if (this.instances.has(definition.key)) continue // a model listed twice in one echelon is one instance
          const print = fingerprint(definition)
          const old = previous?.instances.get(definition.key)
          const instance =
            old && old.fingerprint === print
              ? old
              : new InstanceRuntime(definition, print, options.providers.get(definition.settings.provider), options.limits, options.clock, options.onHealthChange)
          this.instances.set(definition.key, instance)
          instances.push(instance)
        }
        instancesOfEchelon.set(`${groupName}.${echelonName}`, instances)
        echelonsOfGroup.set(groupName, [...(echelonsOfGroup.get(groupName) ?? []), `${groupName}.${echelonName}`])
      }
    }
    if (previous) {
      for (const instance of previous.instances.values()) {
        if (this.instances.get(instance.key) !== instance) {
          instance.draining = true
          this.retired.push(instance)
        }
      }
    }

    for (const [name, group] of Object.entries(config.task_groups)) {
      this.groups.set(name, {
        name,
        config: group,
        steps: this.chain(name, group, config, instancesOfEchelon),
        cursors: previous?.groups.get(name)?.cursors ?? new Map(),
      })
    }

    for (const [name, pool] of Object.entries(config.pools)) {
      const old = previous?.pools.get(name)
      const limiterKey = JSON.stringify(pool.rate_limiting)
      const strategyKey = pool.rotation_strategy.type
      const spec = poolLimitSpec(pool.rate_limiting)
      const limiter = old && old.limiterKey === limiterKey ? old.limiter : spec ? options.limits.create(`pool:${name}`, spec) : undefined
      // `custom:NAME` selects a strategy registered in code as NAME.
      const strategyName = strategyKey.startsWith('custom:') ? strategyKey.slice('custom:'.length) : strategyKey
      const factory = Object.hasOwn(options.strategies, strategyName) ? options.strategies[strategyName] : undefined
      if (!factory)
        throw new RangeError(`pool "${name}": rotation strategy "${strategyKey}" is not registered (pass it in the router's \`strategies\` option as "${strategyName}")`)
      const strategy = old && old.strategyKey === strategyKey ? old.strategy : factory(name)
      const { tiers, weights } = this.tiersOf(pool, instancesOfEchelon, echelonsOfGroup)
      this.pools.set(name, { name, config: pool, tiers, weights, limiter, strategy, limiterKey, strategyKey, chain: undefined, order: undefined })
    }
  }

  /**
   * A task group's chain of echelons. `echelon_down`: its best echelon, then `fallback_groups` (or, when that is
   * empty, its following echelons). `group_fallback`: all its echelons, then those of `fallback_groups`. An entry
   * `group` stands for all that group's echelons by priority; `group.echelon` for one. No step twice.
   */
  private chain(name: string, group: TaskGroup, config: ResolvedConfig, instancesOfEchelon: Map<string, InstanceRuntime[]>): GroupStep[] {
    const own = orderedEchelons(group).map(([echelon]) => `${name}.${echelon}`)
    const expand = (reference: string): string[] => {
      if (reference.includes('.')) return [reference]
      const target = config.task_groups[reference]
      return target ? orderedEchelons(target).map(([echelon]) => `${reference}.${echelon}`) : []
    }
    const fallbacks = group.fallback.fallback_groups.flatMap(expand)
    const labels =
      group.fallback.strategy === 'echelon_down'
        ? [own[0]!, ...(fallbacks.length > 0 ? fallbacks : own.slice(1))]
        : [...own, ...fallbacks]
    return [...new Set(labels)].map((label) => ({ label, instances: instancesOfEchelon.get(label) ?? [] }))
  }

  /**
   * A pool's tiers: its groups' instances by echelon priority (groups in the pool's order within a priority).
   * Under `weighted` with weights, the weighted echelons form the first tier whatever their priority.
   */
  private tiersOf(pool: Pool, instancesOfEchelon: Map<string, InstanceRuntime[]>, echelonsOfGroup: Map<string, string[]>) {
    const weights = new Map<string, number>()
    const entries: { instances: InstanceRuntime[]; label: string; priority: number }[] = []
    for (const group of pool.task_groups) {
      for (const label of echelonsOfGroup.get(group) ?? []) {
        const instances = instancesOfEchelon.get(label) ?? []
        entries.push({ instances, label, priority: instances[0]?.config.priority ?? 0 })
      }
    }
    const configured = pool.rotation_strategy.options.weights
    const weightedTier: InstanceRuntime[] = []
    const weighted = pool.rotation_strategy.type === 'weighted' && Object.keys(configured).length > 0
    const byPriority = new Map<number, InstanceRuntime[]>()
    for (const entry of entries) {
      const weight = weighted ? (configured[entry.label] ?? 0) : 1
      for (const instance of entry.instances) weights.set(instance.key, entry.instances.length > 0 ? weight / entry.instances.length : 0)
      if (weighted && weight > 0) weightedTier.push(...entry.instances)
      else {
        const tier = byPriority.get(entry.priority) ?? []
        tier.push(...entry.instances)
        byPriority.set(entry.priority, tier)
      }
    }
    const tiers = [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, tier]) => tier)
    if (weightedTier.length > 0) tiers.unshift(weightedTier)
    // In the fallback tiers of a weighted pool, unweighted instances are picked evenly.
    if (weighted) for (const tier of tiers.slice(1)) for (const instance of tier) if (!weights.get(instance.key)) weights.set(instance.key, 1)
    return { tiers: tiers.filter((tier) => tier.length > 0), weights }
  }
}
