import type { FailureKind } from '@llmpool/breaker'
import type { ResolvedConfig, ResolvedWrapper } from '@llmpool/config'
import { poolLimitSpec } from '@llmpool/limiter'
import type { PoolWrappersGlobal, TaskGroupWrappersGlobal } from '@llmpool/schema'
import { walkCalls, walkDeadlineMs } from './budgets'
import { BASE_RETRY_DELAY_MS, GLOBAL_DEFAULTS } from './defaults'
import { compileInstances, instancesOfEchelon } from './instances'
import { type GlobalSettings, groupRoute, poolRoute, type RouteContext } from './routes'
import { sourceOf } from './sources'
import type { EntryPlan, EntryServices, PoolSettings, RetryPlan, RoutingPlan, Source } from './types'

/** Router options that win over what the files say, for every entry (their source reads `router option`). */
export interface PlanOverrides {
  /** The overall deadline of every request (ms). */
  requestTimeoutMs?: number
  /** Most upstream calls of one request. */
  attemptBudget?: number
  /** Backoff of retries on one instance. */
  retry?: Partial<Pick<RetryPlan, 'baseDelayMs' | 'backoffFactor' | 'maxRetryDelayMs'>>
  /** Failure kinds retried on the same instance. */
  retryOn?: readonly FailureKind[]
  /** The response cache of every entry; false: none. */
  cache?: { maxSize: number; ttlMs: number } | false
  /** Collect metrics. */
  metrics?: boolean
}

const ROUTER_OPTION = 'router option'
const BUILT_IN = 'built-in default'

type Global = PoolWrappersGlobal | TaskGroupWrappersGlobal

/** Where a `[global]` key of a wrapper comes from: its wrappers file (or the file it inherits from), or the schema. */
function globalSourceOf(
  config: ResolvedConfig,
  name: string,
  wrapper: ResolvedWrapper | undefined,
  key: string,
): Source {
  if (!wrapper) return `${BUILT_IN} ([global] ${key}; a pool or task group called by its own name)`
  return sourceOf(config, 'wrapper', name, ['global', ...key.split('.')], `[global] ${key}`)
}

function retryPlan(global: Global, overrides: PlanOverrides): RetryPlan {
  return {
    retryOn: overrides.retryOn ? [...overrides.retryOn] : [...global.error_handling.retry_on_errors],
    baseDelayMs: overrides.retry?.baseDelayMs ?? BASE_RETRY_DELAY_MS,
    backoffFactor: overrides.retry?.backoffFactor ?? global.error_handling.backoff_factor,
    maxRetryDelayMs: overrides.retry?.maxRetryDelayMs ?? global.error_handling.max_retry_delay * 1000,
  }
}

function services(global: Global, wrapper: ResolvedWrapper | undefined, overrides: PlanOverrides): EntryServices {
  const cache =
    overrides.cache !== undefined
      ? overrides.cache || undefined
      : global.cache.enabled
        ? { maxSize: global.cache.max_size, ttlMs: global.cache.ttl * 1000 }
        : undefined
  return {
    cache,
    metrics: overrides.metrics ?? global.enable_metrics,
    logging: {
      level: global.logging.level,
      format: global.logging.format,
      requests: global.logging.enable_request_logging,
      responses: global.logging.enable_response_logging,
    },
    // Task-group wrappers only: a pool wrapper, or a pool or task group by its own name, passes the call through.
    tools:
      wrapper && 'function_calling_enabled' in global
        ? { enabled: global.function_calling_enabled, selection: global.tool_selection_strategy }
        : undefined,
  }
}

function entry(
  context: RouteContext,
  name: string,
  kind: EntryPlan['kind'],
  target: string,
  wrapper: ResolvedWrapper | undefined,
  overrides: PlanOverrides,
): EntryPlan {
  const global: Global = wrapper?.global ?? GLOBAL_DEFAULTS
  const globalSource = (key: string) => globalSourceOf(context.config, name, wrapper, key)
  const settings: GlobalSettings = {
    values: global,
    sources: { default_timeout: globalSource('default_timeout'), max_retries: globalSource('max_retries') },
  }
  const route = context.config.pools[target]
    ? poolRoute(context, target, settings)
    : groupRoute(context, target, settings)
  const requestTimeoutMs =
    overrides.requestTimeoutMs ??
    (global.request_timeout !== undefined ? global.request_timeout * 1000 : walkDeadlineMs(route))
  const fromOverride = (value: unknown, fallback: Source) => (value !== undefined ? ROUTER_OPTION : fallback)
  return {
    name,
    kind,
    target,
    file: wrapper?.file,
    route,
    requestTimeoutMs,
    maxCalls: overrides.attemptBudget ?? walkCalls(route),
    retry: retryPlan(global, overrides),
    services: services(global, wrapper, overrides),
    sources: {
      requestTimeoutMs: fromOverride(
        overrides.requestTimeoutMs,
        global.request_timeout !== undefined
          ? globalSource('request_timeout')
          : 'computed: room to walk the chain once (docs/routing.md)',
      ),
      maxCalls: fromOverride(overrides.attemptBudget, 'computed: every call the rules allow (docs/routing.md)'),
      retryOn: fromOverride(overrides.retryOn, globalSource('error_handling.retry_on_errors')),
      backoffFactor: fromOverride(overrides.retry?.backoffFactor, globalSource('error_handling.backoff_factor')),
      maxRetryDelayMs: fromOverride(overrides.retry?.maxRetryDelayMs, globalSource('error_handling.max_retry_delay')),
      baseDelayMs: fromOverride(overrides.retry?.baseDelayMs, BUILT_IN),
      cache: fromOverride(overrides.cache, globalSource('cache')),
      logging: globalSource('logging'),
      tools: wrapper
        ? globalSource('function_calling_enabled / tool_selection_strategy')
        : 'passed through (not a task-group wrapper)',
    },
  }
}

function poolSettings(config: ResolvedConfig): Map<string, PoolSettings> {
  const pools = new Map<string, PoolSettings>()
  for (const [name, pool] of Object.entries(config.pools)) {
    pools.set(name, {
      name,
      admission: poolLimitSpec(pool.rate_limiting),
      metrics: {
        enabled: pool.metrics.enabled,
        intervalMs: pool.metrics.interval * 1000,
        retentionMs: pool.metrics.retention_period * 1000,
      },
    })
  }
  return pools
}

/**
 * Compiles a resolved configuration into the routing plan: every instance, every entry (wrappers, pools and task
 * groups by their own names) with its route, deadline, call cap, retry policy, cache, logging and tool settings.
 * Pure: the same configuration and overrides give an equal plan.
 */
export function compilePlan(config: ResolvedConfig, overrides: PlanOverrides = {}): RoutingPlan {
  const instances = compileInstances(config)
  const context: RouteContext = { config, instances, byEchelon: instancesOfEchelon(instances) }
  const entries = new Map<string, EntryPlan>()
  for (const [name, wrapper] of Object.entries(config.wrappers)) {
    const target = wrapper.type === 'pool' ? wrapper.pool_name : wrapper.task_group_name
    entries.set(name, entry(context, name, 'wrapper', target, wrapper, overrides))
  }
  for (const name of Object.keys(config.pools))
    entries.set(name, entry(context, name, 'pool', name, undefined, overrides))
  for (const name of Object.keys(config.task_groups))
    entries.set(name, entry(context, name, 'task_group', name, undefined, overrides))
  return { instances, entries, pools: poolSettings(config) }
}
