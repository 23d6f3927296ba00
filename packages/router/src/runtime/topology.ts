import type { Limiter, LimiterBackend } from '@llmpool/limiter'
import type { ResolvedConfig } from '@llmpool/config'
import type { CandidatePlan, EntryPlan, PoolSettings, RoutingPlan } from '../plan/types'
import type { RotationStrategy, RotationStrategyFactory } from '../strategies/index'
import { ResponseCache } from '../cache'
import type { Clock } from '@llmpool/schema'
import { Candidate } from './candidate'
import { type InstanceContext, InstanceRuntime } from './instance'

/** Orders one list of candidates for one request. */
export type Order = (listIndex: number, candidates: Candidate[]) => Candidate[]

/** How one request walks one list of lists: a task group's echelons, or one pool's tiers. */
export interface Walk {
  /** The pool this walk is in, for events and errors; undefined for a task group. */
  pool: string | undefined
  lists: Candidate[][]
  /** Instances one request may try in this walk. */
  maxInstances: number
  /** Pause when a request leaves a list that has nothing left to try (task groups' `retry_delay`). */
  stepDelayMs: number
  hedgeAfterMs: number | undefined
  order: Order
}

/** A pool's runtime, shared by every entry that reaches it: its admission limiter and rotation strategy. */
export interface PoolRuntime {
  name: string
  settings: PoolSettings
  admission: Limiter | undefined
  strategy: RotationStrategy
  /** What the limiter and the strategy were made from, to keep them across reloads when unchanged. */
  admissionKey: string
  strategyKey: string
}

/** An entry at run time: its plan, the walks of its route, its cache. */
export interface EntryRuntime {
  plan: EntryPlan
  /** A task group: one walk. A pool: one walk per pool of its fallback chain. */
  walks: Walk[]
  /** The pools of `walks` (pool entries only). */
  pools: (PoolRuntime | undefined)[]
  cache: ResponseCache | undefined
  /** What the cache was made from, to keep it across reloads when unchanged. */
  cacheKey: string
  /** `plan.retry.retryOn` as a set, made on first use. */
  retryOn?: ReadonlySet<import('@llmpool/breaker').FailureKind>
}

export interface TopologyOptions extends InstanceContext {
  limits: LimiterBackend
  clock: Clock
  strategies: Record<string, RotationStrategyFactory>
  random(): number
}

function strategyFactory(
  strategies: Record<string, RotationStrategyFactory>,
  pool: string,
  type: string,
): RotationStrategyFactory {
  // `custom:NAME` selects a strategy registered in code as NAME.
  const name = type.startsWith('custom:') ? type.slice('custom:'.length) : type
  const factory = Object.hasOwn(strategies, name) ? strategies[name] : undefined
  if (!factory)
    throw new RangeError(
      `pool "${pool}": rotation strategy "${type}" is not registered (pass it in the router's \`strategies\` option as "${name}")`,
    )
  return factory
}

/**
 * The runtime of one plan: instances, pools, entries. Built anew on every reload, reusing the runtime of every
 * instance whose identity is unchanged (its breaker, limiter, health and cooldown), and every pool limiter, strategy,
 * round-robin cursor and cache whose settings did not change.
 */
export class Topology {
  readonly instances = new Map<string, InstanceRuntime>()
  /** The same instances by `shareKey`: how other processes name them. */
  readonly shared = new Map<string, InstanceRuntime>()
  readonly pools = new Map<string, PoolRuntime>()
  readonly entries = new Map<string, EntryRuntime>()
  /** Round-robin cursors of task-group echelons, by `group.echelon`. */
  readonly cursors: Map<string, { value: number }>
  /** Instances of the previous topology that this one does not use: they finish their calls, then go. */
  readonly retired: InstanceRuntime[] = []
  /** Instances kept from the previous topology whose breaker was made anew (its listeners need rewiring). */
  readonly rewired: InstanceRuntime[] = []
  /** Limiters replaced by a reload (disposed once their calls are over). */
  readonly retiredLimiters: Limiter[] = []

  constructor(
    readonly config: ResolvedConfig,
    readonly plan: RoutingPlan,
    previous: Topology | undefined,
    options: TopologyOptions,
  ) {
    const byIdentity = new Map<string, InstanceRuntime>()
    for (const instance of previous?.instances.values() ?? []) byIdentity.set(instance.plan.identity, instance)
    for (const [key, instancePlan] of plan.instances) {
      const old = byIdentity.get(instancePlan.identity)
      let instance: InstanceRuntime
      if (old && !old.draining) {
        byIdentity.delete(instancePlan.identity)
        const replaced = old.update(instancePlan)
        if (replaced.breaker) this.rewired.push(old)
        if (replaced.limiter) this.retiredLimiters.push(replaced.limiter)
        instance = old
      } else {
        instance = new InstanceRuntime(instancePlan, options)
        instance.warmUp()
      }
      this.instances.set(key, instance)
      this.shared.set(instancePlan.shareKey, instance)
    }
    for (const instance of byIdentity.values()) {
      if (instance.draining) continue
      instance.draining = true
      this.retired.push(instance)
    }

    this.cursors = previous?.cursors ?? new Map()
    for (const [name, settings] of plan.pools) {
      const old = previous?.pools.get(name)
      const pool = config.pools[name]!
      const admissionKey = JSON.stringify(settings.admission ?? null)
      const strategyKey = pool.rotation_strategy.type
      const factory = strategyFactory(options.strategies, name, strategyKey)
      // Unchanged, or the same kind with new values (its count kept): the pool keeps its limiter.
      const kept =
        old?.admission &&
        settings.admission &&
        (old.admissionKey === admissionKey || old.admission.reconfigure?.(settings.admission) === true)
      if (old?.admission && !kept) this.retiredLimiters.push(old.admission)
      this.pools.set(name, {
        name,
        settings,
        admission: kept
          ? old.admission
          : settings.admission
            ? options.limits.create(`pool:${name}`, settings.admission)
            : undefined,
        strategy: old && old.strategyKey === strategyKey ? old.strategy : factory(name),
        admissionKey,
        strategyKey,
      })
    }

    for (const [name, entryPlan] of plan.entries) {
      const old = previous?.entries.get(name)
      const cacheKey = JSON.stringify(entryPlan.services.cache ?? null)
      const cache =
        old && old.cacheKey === cacheKey
          ? old.cache
          : entryPlan.services.cache
            ? new ResponseCache(entryPlan.services.cache, options.clock)
            : undefined
      const candidate = (candidatePlan: CandidatePlan) =>
        new Candidate(this.instances.get(candidatePlan.instance)!, candidatePlan)
      const route = entryPlan.route
      if (route.kind === 'task_group') {
        const lists = route.steps.map((step) => step.candidates.map(candidate))
        const labels = route.steps.map((step) => step.label)
        const cursors = labels.map((label) => {
          let cursor = this.cursors.get(label)
          if (!cursor) this.cursors.set(label, (cursor = { value: 0 }))
          return cursor
        })
        const order: Order = (listIndex, candidates) => {
          const cursor = cursors[listIndex]!
          const start = candidates.length > 0 ? cursor.value++ % candidates.length : 0
          // Orders are only read, never changed: the list itself serves when the turn starts at its head.
          return start === 0 ? candidates : [...candidates.slice(start), ...candidates.slice(0, start)]
        }
        const walk: Walk = {
          pool: undefined,
          lists,
          maxInstances: route.maxInstances,
          stepDelayMs: route.stepDelayMs,
          hedgeAfterMs: route.hedgeAfterMs,
          order,
        }
        this.entries.set(name, { plan: entryPlan, walks: [walk], pools: [undefined], cache, cacheKey })
      } else {
        const walks: Walk[] = []
        const pools: PoolRuntime[] = []
        for (const stage of route.stages) {
          const pool = this.pools.get(stage.pool)!
          const weights = stage.weights
          const context = { weightOf: (view: { key: string }) => weights.get(view.key) ?? 0, random: options.random }
          const order: Order = (_listIndex, candidates) => pool.strategy.order(candidates, context) as Candidate[]
          walks.push({
            pool: stage.pool,
            lists: stage.tiers.map((tier) => tier.map(candidate)),
            maxInstances: stage.maxInstances,
            stepDelayMs: 0,
            hedgeAfterMs: stage.hedgeAfterMs,
            order,
          })
          pools.push(pool)
        }
        this.entries.set(name, { plan: entryPlan, walks, pools, cache, cacheKey })
      }
    }
  }
}
