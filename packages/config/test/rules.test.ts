/**
 * One fixture per rule of docs/configuration.md. Each fixture is `valid-minimal` with one change, so each must fail
 * with exactly one error: the expected code, in the expected file, at the expected key path and line.
 */
import { checkConfig, ConfigError, type ConfigProblem, loadConfig } from '@llmpool/config'
import { describe, expect, test } from 'vitest'
import { check, fixture, onlyError, onlyWarning, positionOf } from './helpers'

interface Case {
  fixture: string
  code: ConfigProblem['code']
  file: string
  path: string
  /** Text the problem's line and column point at (the key, or the table of a missing key). */
  at?: string
  message?: RegExp
}

const POOL = 'pools/fast-pool.toml'
const GROUP = 'task-groups/fast-group.toml'
const WRAPPERS = 'wrappers/pool-wrappers.toml'
const REGISTRY = '_registry.toml'

const pools: Case[] = [
  {
    fixture: 'pool-name-empty',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.name',
    at: 'name = ""',
    message: /must not be empty/,
  },
  {
    fixture: 'pool-name-mismatch',
    code: 'name_mismatch',
    file: POOL,
    path: 'pool.name',
    at: 'name =',
    message: /"quick_pool".*"fast_pool"/,
  },
  {
    fixture: 'pool-task-groups-empty',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.task_groups',
    at: 'task_groups =',
    message: /at least 1/,
  },
  {
    fixture: 'pool-task-group-twice',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.task_groups[1]',
    at: 'task_groups =',
    message: /listed twice/,
  },
  {
    fixture: 'pool-task-group-unknown',
    code: 'unknown_reference',
    file: POOL,
    path: 'pool.task_groups[0]',
    at: 'task_groups =',
    message: /"fast_grop" is not registered \(did you mean "fast_group"\?\)/,
  },
  {
    fixture: 'pool-task-group-disabled',
    code: 'disabled_reference',
    file: POOL,
    path: 'pool.task_groups[1]',
    at: 'task_groups =',
    message: /"slow_group" is disabled/,
  },
  {
    fixture: 'pool-interval-zero',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.health_check.interval',
    at: 'interval = 0',
    message: /greater than 0, got 0/,
  },
  {
    fixture: 'pool-failure-threshold-zero',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.health_check.failure_threshold',
    at: 'failure_threshold = 0',
    message: /at least 1/,
  },
  {
    fixture: 'pool-recovery-time-zero',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.health_check.recovery_time',
    at: 'recovery_time = 0',
    message: /greater than 0/,
  },
  {
    fixture: 'pool-rotation-type-invalid',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.rotation_strategy.type',
    at: 'type = "fastest"',
    message:
      /must be one of round_robin \| random \| weighted \| least_connections, or custom:NAME \(a strategy registered in code\), got "fastest"/,
  },
  {
    fixture: 'pool-fallback-strategy-invalid',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.fallback.strategy',
    at: 'strategy =',
    message: /instance_rotation \| pool_fallback/,
  },
  {
    fixture: 'pool-rate-limiting-missing-table',
    code: 'missing_key',
    file: POOL,
    path: 'pool.rate_limiting.fixed_window',
    at: '[pool.rate_limiting]',
    message: /\[pool\.rate_limiting\.fixed_window\] is missing/,
  },
  {
    fixture: 'pool-token-bucket-refill-zero',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.rate_limiting.token_bucket.refill_rate',
    at: 'refill_rate = 0',
  },
  {
    fixture: 'pool-fixed-window-max-requests-zero',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.rate_limiting.fixed_window.max_requests',
    at: 'max_requests = 0',
  },
  {
    fixture: 'pool-weight-negative',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.rotation_strategy.options.weights."fast_group.echelon1"',
    at: '"fast_group.echelon1" = -1',
    message: /at least 0/,
  },
  {
    fixture: 'pool-weights-unknown-echelon',
    code: 'unknown_reference',
    file: POOL,
    path: 'pool.rotation_strategy.options.weights."fast_group.echelon9"',
    at: '"fast_group.echelon9"',
    message: /no echelon "echelon9"/,
  },
  {
    fixture: 'pool-weights-group-not-in-pool',
    code: 'unknown_reference',
    file: POOL,
    path: 'pool.rotation_strategy.options.weights."slow_group.echelon1"',
    at: '"slow_group.echelon1"',
    message: /not in this pool's task_groups/,
  },
  {
    fixture: 'pool-weights-key-without-dot',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.rotation_strategy.options.weights.fast_group',
    at: 'fast_group = 1',
    message: /"task_group\.echelon"/,
  },
  {
    fixture: 'pool-fallback-pools-self',
    code: 'invalid_value',
    file: POOL,
    path: 'pool.fallback.fallback_pools[0]',
    at: 'fallback_pools =',
    message: /itself/,
  },
  {
    fixture: 'pool-fallback-pools-unknown',
    code: 'unknown_reference',
    file: POOL,
    path: 'pool.fallback.fallback_pools[0]',
    at: 'fallback_pools =',
    message: /"slow_pool" is not registered/,
  },
  {
    fixture: 'alias-conflict',
    code: 'conflicting_keys',
    file: POOL,
    path: 'pool.health_check_interval',
    at: 'health_check_interval',
    message: /health_check\.interval/,
  },
]

const taskGroups: Case[] = [
  {
    fixture: 'group-echelons-missing',
    code: 'missing_key',
    file: GROUP,
    path: 'task_group.echelons',
    at: '[task_group]',
  },
  {
    fixture: 'group-echelons-empty',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons',
    at: '[task_group.echelons]',
    message: /at least 1/,
  },
  {
    fixture: 'group-echelon-without-models',
    code: 'missing_key',
    file: GROUP,
    path: 'task_group.echelons.echelon2.models',
    at: '[task_group.echelons.echelon2]',
  },
  {
    fixture: 'group-echelon-models-empty',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon2.models',
    at: 'models = []',
  },
  {
    fixture: 'group-model-id-invalid',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.models[0]',
    at: 'models = ["openai-gpt4"]',
    message: /provider:model.*got "openai-gpt4"/,
  },
  {
    fixture: 'group-temperature-too-high',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.temperature',
    at: 'temperature = 2.5',
    message: /at most 2, got 2\.5/,
  },
  {
    fixture: 'group-concurrency-limit-zero',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.concurrency_limit',
    at: 'concurrency_limit = 0',
    message: /at least 1/,
  },
  {
    fixture: 'group-rpm-limit-negative',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.rpm_limit',
    at: 'rpm_limit = -1',
    message: /at least 1, got -1/,
  },
  {
    fixture: 'group-max-tokens-zero',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.max_tokens',
    at: 'max_tokens = 0',
  },
  {
    fixture: 'group-timeout-zero',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.timeout',
    at: 'timeout = 0',
  },
  {
    fixture: 'group-max-retries-negative',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.max_retries',
    at: 'max_retries = -1',
    message: /at least 0/,
  },
  {
    fixture: 'group-echelon-name-dotted',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons."echelon.2"',
    at: '[task_group.echelons."echelon.2"]',
  },
  {
    fixture: 'group-breaker-half-open-zero',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.circuit_breaker.half_open_requests',
    at: 'half_open_requests = 0',
  },
  {
    fixture: 'group-breaker-failure-threshold-zero',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.circuit_breaker.failure_threshold',
    at: 'failure_threshold = 0',
  },
  {
    fixture: 'group-fallback-strategy-conflict',
    code: 'conflicting_keys',
    file: GROUP,
    path: 'task_group.fallback_strategy',
    at: 'fallback_strategy =',
    message: /"echelon_down".*"group_fallback"/,
  },
  {
    fixture: 'group-fallback-groups-unknown-echelon',
    code: 'unknown_reference',
    file: GROUP,
    path: 'task_group.fallback.fallback_groups[1]',
    at: 'fallback_groups =',
    message: /no echelon "echelon3"/,
  },
  {
    fixture: 'group-fallback-groups-disabled',
    code: 'disabled_reference',
    file: GROUP,
    path: 'task_group.fallback.fallback_groups[0]',
    at: 'fallback_groups =',
    message: /"slow_group" is disabled/,
  },
  {
    fixture: 'group-api-keys-empty-list',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.api_keys',
    at: 'api_keys =',
    message: /^must list at least 1 item$/,
  },
  {
    fixture: 'group-api-keys-empty-key',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.api_keys[1]',
    at: 'api_keys =',
    message: /^must not be empty: \$\{SECOND_KEY\} is unset or empty$/,
  },
  {
    fixture: 'group-api-keys-duplicate',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.api_keys[2]',
    at: 'api_keys =',
    message: /^api_keys\[0\] and api_keys\[2\] are the same key$/,
  },
  {
    fixture: 'group-api-keys-with-api-key',
    code: 'conflicting_keys',
    file: GROUP,
    path: 'task_group.echelons.echelon1.api_keys',
    at: 'api_keys =',
    message: /api_key and api_keys are both set/,
  },
]

const wrappers: Case[] = [
  {
    fixture: 'wrapper-type-invalid',
    code: 'invalid_value',
    file: WRAPPERS,
    path: 'wrappers.fast_pool_wrapper.type',
    at: 'type = "model"',
    message: /pool \| task_group/,
  },
  {
    fixture: 'wrapper-unknown-pool',
    code: 'unknown_reference',
    file: WRAPPERS,
    path: 'wrappers.fast_pool_wrapper.pool_name',
    at: 'pool_name = "slow_pool"',
    message: /"slow_pool" is not registered/,
  },
  {
    fixture: 'wrapper-disabled-pool',
    code: 'disabled_reference',
    file: WRAPPERS,
    path: 'wrappers.slow_pool_wrapper.pool_name',
    at: 'pool_name = "slow_pool"',
    message: /"slow_pool" is disabled/,
  },
  {
    fixture: 'wrapper-function-calling-in-pool-wrappers',
    code: 'unknown_key',
    file: WRAPPERS,
    path: 'global.function_calling_enabled',
    at: 'function_calling_enabled',
    message: /belongs in a task-group wrappers file/,
  },
  {
    fixture: 'wrapper-name-duplicate',
    code: 'duplicate_name',
    file: WRAPPERS,
    path: 'wrappers.fast_group',
    at: 'fast_group = {',
    message: /unique/,
  },
]

const registry: Case[] = [
  {
    fixture: 'registry-duplicate-name',
    code: 'duplicate_name',
    file: REGISTRY,
    path: 'task_groups.fast_pool',
    at: 'fast_pool = { file = "task-groups',
    message: /also registered under \[pools\]/,
  },
  {
    fixture: 'registry-name-invalid',
    code: 'invalid_value',
    file: REGISTRY,
    path: 'pools."slow.pool"',
    at: '"slow.pool"',
  },
  { fixture: 'registry-unknown-key', code: 'unknown_key', file: REGISTRY, path: 'global.hot_reload', at: 'hot_reload' },
  { fixture: 'registry-file-not-found', code: 'file_not_found', file: 'pools/slow-pool.toml', path: '' },
  { fixture: 'registry-missing', code: 'file_not_found', file: REGISTRY, path: '' },
  {
    fixture: 'path-outside-config-dir/config',
    code: 'path_outside_config_dir',
    file: REGISTRY,
    path: 'pools.outside_pool.file',
    at: 'file = "../outside.toml"',
    message: /"\.\.\/outside\.toml" leaves the configuration directory/,
  },
  {
    fixture: 'dependencies-unregistered',
    code: 'unknown_reference',
    file: REGISTRY,
    path: 'dependencies.fast_pool[1]',
    at: 'fast_pool = ["fast_group", "slow_group"]',
    message: /"slow_group" is not registered/,
  },
  {
    fixture: 'dependencies-disabled',
    code: 'disabled_reference',
    file: REGISTRY,
    path: 'dependencies.fast_pool[1]',
    at: 'fast_pool = ["fast_group", "slow_group"]',
    message: /"slow_group", which is disabled/,
  },
  {
    fixture: 'dependencies-cycle',
    code: 'dependency_cycle',
    file: REGISTRY,
    path: 'dependencies.fast_pool',
    at: 'fast_pool = ["fast_group"]',
    message: /fast_pool → fast_group → pool_wrappers → fast_pool/,
  },
  { fixture: 'toml-syntax', code: 'toml_syntax', file: POOL, path: '', message: /^invalid TOML: / },
  {
    fixture: 'registry-nothing-enabled',
    code: 'nothing_enabled',
    file: REGISTRY,
    path: 'pools',
    at: '[pools]',
    message: /no enabled pool and no enabled task group/,
  },
  // An empty (or truncated) registry: what a reload may catch halfway through a write.
  { fixture: 'registry-empty', code: 'nothing_enabled', file: REGISTRY, path: '' },
]

/** A string that is exactly one `${VAR}` takes the type of its number, integer or boolean field (docs: Environment variables). */
const typedEnvironment: Case[] = [
  {
    fixture: 'env-typed-not-a-number',
    code: 'invalid_type',
    file: GROUP,
    path: 'task_group.echelons.echelon1.concurrency_limit',
    at: 'concurrency_limit',
    message: /^expected an integer: \$\{MAX_CONCURRENCY\} is "ten"$/,
  },
  {
    fixture: 'env-typed-not-whole',
    code: 'invalid_value',
    file: GROUP,
    path: 'task_group.echelons.echelon1.concurrency_limit',
    at: 'concurrency_limit',
    message: /^must be a whole number: \$\{MAX_CONCURRENCY\} is "2\.5"$/,
  },
  {
    fixture: 'env-typed-not-boolean',
    code: 'invalid_type',
    file: POOL,
    path: 'pool.rate_limiting.enabled',
    at: 'enabled =',
    message: /^expected true or false: \$\{RATE_LIMITING\} is "yes"$/,
  },
]

/** Settings that another setting makes do nothing: a `no_effect` warning where they are written; the rest loads. */
const noEffect: Case[] = [
  {
    fixture: 'no-effect-weights',
    code: 'no_effect',
    file: POOL,
    path: 'pool.rotation_strategy.options.weights',
    at: 'weights =',
    message: /^weights have no effect: rotation_strategy\.type is "round_robin"; weights apply to "weighted" only$/,
  },
  {
    fixture: 'no-effect-fallback-pools',
    code: 'no_effect',
    file: POOL,
    path: 'pool.fallback.fallback_pools',
    at: 'fallback_pools =',
    message: /^fallback_pools have no effect: fallback\.strategy is "instance_rotation"/,
  },
  {
    fixture: 'no-effect-rate-limiting-other-algorithm',
    code: 'no_effect',
    file: POOL,
    path: 'pool.rate_limiting.fixed_window',
    at: '[pool.rate_limiting.fixed_window]',
    message: /^\[pool\.rate_limiting\.fixed_window\] has no effect: rate_limiting\.algorithm is "token_bucket"$/,
  },
  {
    fixture: 'no-effect-rate-limiting-disabled',
    code: 'no_effect',
    file: POOL,
    path: 'pool.rate_limiting.token_bucket',
    at: '[pool.rate_limiting.token_bucket]',
    message: /has no effect: rate_limiting\.enabled is false$/,
  },
  {
    fixture: 'no-effect-pool-hedge-single-instance',
    code: 'no_effect',
    file: POOL,
    path: 'pool.fallback.hedge_after',
    at: 'hedge_after',
    message: /^hedge_after has no effect: the pool has one instance/,
  },
  {
    fixture: 'no-effect-group-hedge-single-instance',
    code: 'no_effect',
    file: GROUP,
    path: 'task_group.fallback.hedge_after',
    at: 'hedge_after',
    message: /^hedge_after has no effect: the chain of this task group has one instance/,
  },
  {
    fixture: 'no-effect-group-retry-delay-single-echelon',
    code: 'no_effect',
    file: GROUP,
    path: 'task_group.fallback.retry_delay',
    at: 'retry_delay',
    message: /one echelon/,
  },
  {
    fixture: 'no-effect-group-retry-delay-one-attempt',
    code: 'no_effect',
    file: GROUP,
    path: 'task_group.fallback.retry_delay',
    at: 'retry_delay',
    message: /max_attempts is 1/,
  },
  {
    fixture: 'no-effect-pool-metrics-disabled',
    code: 'no_effect',
    file: POOL,
    path: 'pool.metrics.interval',
    at: 'interval = 30\n\n[pool.rate',
    message: /metrics\.enabled is false/,
  },
  {
    fixture: 'no-effect-group-metrics-disabled',
    code: 'no_effect',
    file: GROUP,
    path: 'task_group.metrics.collection_interval',
    at: 'collection_interval',
    message: /metrics\.enabled is false/,
  },
]

function expectWarning({ fixture, at, message, ...expected }: Case): void {
  const problem = onlyWarning(check(fixture), expected)
  if (message) expect(problem.message).toMatch(message)
  if (at) expect(problem).toMatchObject(positionOf(fixture, expected.file, at))
}

/** Names that every JavaScript object has as properties are names like any other. */
const objectProperties: Case[] = [
  {
    fixture: 'object-property-unknown-key',
    code: 'unknown_key',
    file: POOL,
    path: 'pool.constructor',
    at: 'constructor = 1',
  },
  {
    fixture: 'object-property-inherits-from',
    code: 'unknown_base',
    file: POOL,
    path: 'pool.inherits_from',
    at: 'inherits_from',
    message: /"toString"/,
  },
  {
    fixture: 'object-property-dependency',
    code: 'unknown_reference',
    file: REGISTRY,
    path: 'dependencies.constructor',
    at: 'constructor =',
    message: /"constructor" is not registered/,
  },
]

function expectCase({ fixture, at, message, ...expected }: Case): void {
  const problem = onlyError(check(fixture), expected)
  if (message) expect(problem.message).toMatch(message)
  if (at) expect(problem).toMatchObject(positionOf(fixture, expected.file, at))
}

describe('pool rules', () => {
  test.each(pools)('$fixture → $code at $file $path', expectCase)
})

describe('task group rules', () => {
  test.each(taskGroups)('$fixture → $code at $file $path', expectCase)
})

describe('wrapper rules', () => {
  test.each(wrappers)('$fixture → $code at $file $path', expectCase)

  test('a task-group wrapper in a pool wrappers file gets the task-group settings, at their defaults', () => {
    const { config, errors } = check('wrapper-mixed-file')
    expect(errors).toEqual([])
    expect(config!.wrappers.fast_pool_wrapper!.global).not.toHaveProperty('function_calling_enabled')
    expect(config!.wrappers.fast_group_wrapper!.global).toMatchObject({
      default_timeout: 20,
      function_calling_enabled: true,
      tool_selection_strategy: 'auto',
    })
  })

  test('a disabled wrapper is not part of the configuration', () => {
    const { config, errors } = check('wrapper-disabled')
    expect(errors).toEqual([])
    expect(Object.keys(config!.wrappers)).toEqual(['fast_pool_wrapper'])
  })
})

describe('registry rules', () => {
  test.each(registry)('$fixture → $code at $file $path', expectCase)

  test("a TOML syntax error carries the parser's line and column", () => {
    const problem = check('toml-syntax').errors[0]!
    // `type = "round_robin` on line 6: the string runs into the end of the line.
    expect(problem).toMatchObject({ line: 6, column: 20 })
  })

  test('a file outside the directory is never read', () => {
    const { errors } = check('path-outside-config-dir/config')
    expect(errors.map((problem) => problem.file)).not.toContain('../outside.toml')
    expect(errors.every((problem) => !problem.message.includes('outside_pool"'))).toBe(true)
  })
})

describe('settings that have no effect', () => {
  test.each(noEffect)('$fixture → $code at $file $path', expectWarning)

  test('written where they do have an effect, the same settings warn of nothing', () => {
    const { config, errors, warnings } = check('no-effect-none')
    expect(errors).toEqual([])
    expect(warnings).toEqual([])
    expect(config!.task_groups.fast_group!.fallback).toMatchObject({ hedge_after: 1.5, retry_delay: 2 })
  })

  test('a base that one child uses and another ignores is no warning; one that every child ignores is, naming them', () => {
    const problem = onlyWarning(check('no-effect-inherited'), {
      code: 'no_effect',
      file: 'pools/base-pool.toml',
      path: 'pool.rotation_strategy.options.weights',
    })
    expect(problem.message).toMatch(
      /weights have no effect: .* \(in pools "fast_pool", "slow_pool", which inherit it\)$/,
    )
    expect(problem).toMatchObject(positionOf('no-effect-inherited', 'pools/base-pool.toml', 'weights ='))
  })
})

describe('typed values from the environment', () => {
  test.each(typedEnvironment)('$fixture → $code at $file $path', expectCase)
})

describe('names that are also properties of every JavaScript object', () => {
  test.each(objectProperties)('$fixture → $code at $file $path', expectCase)

  test('a metadata key __proto__ is kept as a key, and changes no prototype', () => {
    const { config, errors } = check('object-property-metadata')
    expect(errors).toEqual([])
    const metadata = config!.pools.fast_pool!.metadata as Record<string, unknown>
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype)
    expect(Object.keys(metadata).sort()).toEqual(['__proto__', 'constructor'])
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toEqual({ polluted: true })
    expect(metadata.constructor).toBe('kept as written')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('the configuration directory itself', () => {
  test('a directory that does not exist is one problem that names it, not a missing _registry.toml', async () => {
    const directory = fixture('no-such-directory')
    const { config, errors, warnings } = checkConfig({ directory, env: {} })
    expect(config).toBeUndefined()
    expect(warnings).toEqual([])
    expect(errors).toEqual([
      { code: 'directory_not_found', file: '', path: '', message: `directory not found: ${directory}` },
    ])
    const error = await loadConfig({ directory, env: {} }).catch((caught: unknown) => caught)
    expect(ConfigError.isInstance(error)).toBe(true)
    expect((error as ConfigError).message).toBe(`Invalid configuration: directory not found: ${directory}`)
  })

  test('a file where the directory should be says so', () => {
    const directory = `${fixture('registry-missing')}/pools/fast-pool.toml`
    expect(checkConfig({ directory, env: {} }).errors).toEqual([
      expect.objectContaining({ code: 'directory_not_found', message: `not a directory: ${directory}` }),
    ])
  })
})
