import type { ResolvedConfig, ResolvedWrapper } from '@llmpool/config'
import type { Echelon, Pool, PoolWrappersGlobal, TaskGroup, TaskGroupWrappersGlobal } from '@llmpool/schema'
import { count, fields } from './format'

/** The parts of a configuration that `explain` shows, already redacted. */
export type ConfigView = Pick<ResolvedConfig, 'registry' | 'pools' | 'task_groups' | 'wrappers'>

const seconds = (value: number) => `${value} s`
const onOff = (value: boolean) => (value ? 'on' : 'off')
const list = (values: readonly string[]) => (values.length === 0 ? '(none)' : values.join(', '))
const PROVIDER_DEFAULT = '(provider default)'

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function metadata(value: Readonly<Record<string, unknown>>): string | undefined {
  const entries = Object.entries(value)
  return entries.length === 0 ? undefined : entries.map(([key, item]) => `${key}=${scalar(item)}`).join(', ')
}

/** The registry: version, how the configuration loads, what is disabled. */
export function renderRegistry(view: ConfigView, label: string, environment: string | undefined): string[] {
  const { registry } = view
  const global = registry.global
  const disabled = (['pools', 'task_groups', 'wrappers'] as const).flatMap((kind) =>
    Object.entries(registry[kind])
      .filter(([, entry]) => !entry.enabled)
      .map(([name]) => name),
  )
  return [
    `registry  ${label}`,
    ...fields(
      [
        ['version', registry.registry.version ?? '(none)'],
        ['description', registry.registry.description],
        ['environment', environment ?? '(none)'],
        ['config_validation', global.config_validation],
        [
          'enable_hot_reload',
          global.enable_hot_reload ? `on, reload_interval ${seconds(global.reload_interval)}` : 'off',
        ],
        ['use_defaults_on_failure', onOff(global.use_defaults_on_failure)],
        [
          'enabled',
          [
            count(Object.keys(view.pools).length, 'pool'),
            count(Object.keys(view.task_groups).length, 'task group'),
            count(Object.keys(view.wrappers).length, 'wrapper'),
          ].join(', '),
        ],
        ['disabled', disabled.length === 0 ? undefined : disabled.join(', ')],
      ],
      '  ',
    ),
  ]
}

function rotation(pool: Pool): string {
  const { type, options } = pool.rotation_strategy
  const weights = Object.entries(options.weights)
  if (type !== 'weighted' || weights.length === 0) return type
  return `${type} (${weights.map(([target, weight]) => `${target} ${weight}`).join(', ')})`
}

function rateLimiting(pool: Pool): string {
  const limits = pool.rate_limiting
  if (!limits.enabled) return 'off'
  if (limits.algorithm === 'token_bucket') {
    const bucket = limits.token_bucket
    return bucket
      ? `token_bucket: bucket_size ${bucket.bucket_size}, refill_rate ${bucket.refill_rate}/s`
      : 'token_bucket (no [token_bucket] table)'
  }
  const window = limits.fixed_window
  return window
    ? `fixed_window: max_requests ${window.max_requests} per window_size ${seconds(window.window_size)}`
    : 'fixed_window (no [fixed_window] table)'
}

/** One pool: its task groups, rotation, health check, fallback and rate limiting. */
export function renderPool(name: string, pool: Pool, file: string, indent = ''): string[] {
  const { health_check: health, fallback } = pool
  const fallbackText =
    fallback.strategy === 'pool_fallback'
      ? `pool_fallback → ${list(fallback.fallback_pools)}, max_instance_attempts ${fallback.max_instance_attempts}`
      : `${fallback.strategy}, max_instance_attempts ${fallback.max_instance_attempts}`
  return [
    `${indent}${name}  ${file}`,
    ...fields(
      [
        ['description', pool.description],
        ['inherits_from', pool.inherits_from],
        ['task_groups', list(pool.task_groups)],
        ['rotation_strategy', rotation(pool)],
        [
          'health_check',
          `interval ${seconds(health.interval)}, failure_threshold ${health.failure_threshold}, recovery_time ${seconds(health.recovery_time)}`,
        ],
        ['fallback', fallbackText],
        ['rate_limiting', rateLimiting(pool)],
        [
          'metrics',
          pool.metrics.enabled
            ? `interval ${seconds(pool.metrics.interval)}, retention_period ${seconds(pool.metrics.retention_period)}`
            : 'off',
        ],
        ['metadata', metadata(pool.metadata)],
      ],
      `${indent}  `,
    ),
  ]
}

function limits(echelon: Echelon): string {
  const parts = [
    echelon.concurrency_limit === undefined ? undefined : `concurrency_limit ${echelon.concurrency_limit}`,
    echelon.rpm_limit === undefined ? undefined : `rpm_limit ${echelon.rpm_limit}`,
  ].filter(Boolean)
  return parts.length === 0 ? '(none)' : parts.join(', ')
}

function renderEchelon(name: string, echelon: Echelon, priority: string, indent: string): string[] {
  return [
    `${indent}${name}  priority ${priority}`,
    ...fields(
      [
        ['models', list(echelon.models)],
        ['limits', limits(echelon)],
        [
          'timeout',
          `${echelon.timeout === undefined ? '(wrappers default_timeout)' : seconds(echelon.timeout)}, max_retries ${echelon.max_retries ?? '(wrappers max_retries)'}`,
        ],
        ['temperature', echelon.temperature === undefined ? '(model default)' : String(echelon.temperature)],
        ['max_tokens', echelon.max_tokens === undefined ? '(model default)' : String(echelon.max_tokens)],
        // The view is redacted: a set key reads "[redacted]" here.
        ['api_key', echelon.api_keys ? undefined : echelon.api_key ? echelon.api_key : PROVIDER_DEFAULT],
        ['api_keys', echelon.api_keys ? `${echelon.api_keys.length}: ${list(echelon.api_keys)}` : undefined],
        ['base_url', echelon.base_url ? echelon.base_url : PROVIDER_DEFAULT],
      ],
      `${indent}  `,
    ),
  ]
}

/** One task group: fallback, circuit breaker, then each echelon in the order it is tried. */
export function renderTaskGroup(name: string, group: TaskGroup, file: string, indent = ''): string[] {
  const { fallback, circuit_breaker: breaker } = group
  const fallbackTargets = fallback.fallback_groups.length === 0 ? '' : ` → ${list(fallback.fallback_groups)}`
  const echelons = Object.entries(group.echelons)
    .map(([echelonName, echelon], index) => ({
      echelonName,
      echelon,
      order: echelon.priority ?? index + 1,
      priority: echelon.priority === undefined ? `${index + 1} (position)` : String(echelon.priority),
    }))
    .sort((a, b) => a.order - b.order)
  return [
    `${indent}${name}  ${file}`,
    ...fields(
      [
        ['description', group.description],
        ['inherits_from', group.inherits_from],
        [
          'fallback',
          `${fallback.strategy}${fallbackTargets}; max_attempts ${fallback.max_attempts}, retry_delay ${seconds(fallback.retry_delay)}`,
        ],
        [
          'circuit_breaker',
          `failure_threshold ${breaker.failure_threshold}, recovery_time ${seconds(breaker.recovery_time)}, half_open_requests ${breaker.half_open_requests}`,
        ],
        [
          'metrics',
          group.metrics.enabled ? `collection_interval ${seconds(group.metrics.collection_interval)}` : 'off',
        ],
        ['metadata', metadata(group.metadata)],
      ],
      `${indent}  `,
    ),
    ...echelons.flatMap(({ echelonName, echelon, priority }) =>
      renderEchelon(echelonName, echelon, priority, `${indent}  `),
    ),
  ]
}

function target(wrapper: ResolvedWrapper): string {
  return wrapper.type === 'pool' ? `pool ${wrapper.pool_name}` : `task_group ${wrapper.task_group_name}`
}

/** The `[global]` settings of a wrappers file. */
export function renderWrapperGlobal(global: PoolWrappersGlobal | TaskGroupWrappersGlobal, indent: string): string[] {
  const { error_handling: errors, cache, logging } = global
  const logged = [logging.enable_request_logging && 'requests', logging.enable_response_logging && 'responses'].filter(
    Boolean,
  )
  return [
    `${indent}global`,
    ...fields(
      [
        ['default_timeout', `${seconds(global.default_timeout)}, max_retries ${global.max_retries}`],
        [
          'error_handling',
          `retry on ${list(errors.retry_on_errors)}; max_retry_delay ${seconds(errors.max_retry_delay)}, backoff_factor ${errors.backoff_factor}`,
        ],
        ['cache', cache.enabled ? `max_size ${cache.max_size}, ttl ${seconds(cache.ttl)}` : 'off'],
        [
          'logging',
          `${logging.level}, ${logging.format}${logged.length === 0 ? '' : `, logs ${logged.join(' and ')}`}`,
        ],
        ['metrics', global.enable_metrics ? `metrics_interval ${seconds(global.metrics_interval)}` : 'off'],
        [
          'function_calling',
          'function_calling_enabled' in global
            ? `${onOff(global.function_calling_enabled)}, tool_selection_strategy ${global.tool_selection_strategy}`
            : undefined,
        ],
      ],
      `${indent}  `,
    ),
  ]
}

/** One wrapper: what it wraps, and the `[global]` settings of its file. */
export function renderWrapper(name: string, wrapper: ResolvedWrapper, indent = ''): string[] {
  return [
    `${indent}${name}  ${wrapper.file}`,
    ...fields(
      [
        ['wraps', target(wrapper)],
        ['description', wrapper.description],
      ],
      `${indent}  `,
    ),
    ...renderWrapperGlobal(wrapper.global, `${indent}  `),
  ]
}

/** Wrappers grouped by file: one line per wrapper, then the file's `[global]`. */
function renderWrapperFiles(wrappers: ConfigView['wrappers'], indent: string): string[] {
  const byFile = new Map<string, Array<[string, ResolvedWrapper]>>()
  for (const entry of Object.entries(wrappers)) {
    const file = entry[1].file
    byFile.set(file, [...(byFile.get(file) ?? []), entry])
  }
  return [...byFile].flatMap(([file, entries]) => [
    `${indent}${file}`,
    ...fields(
      entries.map(([name, wrapper]) => [name, target(wrapper)] as const),
      `${indent}  `,
    ),
    ...renderWrapperGlobal(entries[0]![1].global, `${indent}  `),
  ])
}

/** The whole configuration, for a person: registry, pools, task groups, wrappers. */
export function renderConfiguration(
  view: ConfigView,
  files: { pools: Readonly<Record<string, string>>; task_groups: Readonly<Record<string, string>> },
  label: string,
  environment: string | undefined,
): string {
  const pools = Object.entries(view.pools).flatMap(([name, pool]) =>
    renderPool(name, pool, files.pools[name] ?? '', '  '),
  )
  const groups = Object.entries(view.task_groups).flatMap(([name, group]) =>
    renderTaskGroup(name, group, files.task_groups[name] ?? '', '  '),
  )
  const sections = [
    renderRegistry(view, label, environment),
    ['pools', ...pools],
    ['task_groups', ...groups],
    ['wrappers', ...renderWrapperFiles(view.wrappers, '  ')],
  ]
  return sections.map((lines) => `${lines.join('\n')}\n`).join('\n')
}
