/** `${VAR}` and `${VAR:default}` in values. */
import { afterEach, describe, expect, test, vi } from 'vitest'
import { loadConfig } from '@llmpool/config'
import { check, fixture, onlyError, positionOf, strings } from './helpers'

const FILE = 'task-groups/fast-group.toml'

function group(env: NodeJS.ProcessEnv) {
  const { config, errors } = check('env-injection', { env })
  expect(errors).toEqual([])
  return config!.task_groups.fast_group!
}

describe('environment variables', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  test("${VAR} takes the variable's value", () => {
    const resolved = group({
      REGION: 'eu-west',
      MODEL: 'anthropic:claude-3-haiku',
      OPENAI_API_KEY: 'sk-test-1',
      OPENAI_BASE_URL: 'https://proxy.internal/v1',
      DESCRIPTION: 'from the environment',
    })
    expect(resolved.description).toBe('from the environment')
    expect(resolved.echelons.echelon1).toMatchObject({
      models: ['anthropic:claude-3-haiku'],
      api_key: 'sk-test-1',
      base_url: 'https://proxy.internal/v1',
    })
    expect(resolved.metadata).toMatchObject({ region: 'eu-west', mixed: 'eu-west-a' })
  })

  test('${VAR:default} with the variable unset takes the default (which may hold a colon, or be empty)', () => {
    const resolved = group({ REGION: 'eu' })
    expect(resolved.description).toBe('plain')
    expect(resolved.echelons.echelon1).toMatchObject({
      models: ['openai:gpt-4o'],
      api_key: '',
      base_url: 'https://api.openai.com',
    })
    expect(resolved.metadata.mixed).toBe('eu-a')
  })

  test('an empty variable takes the default, as ${VAR:-default} does in the shell', () => {
    const resolved = group({ REGION: 'eu', OPENAI_BASE_URL: '', DESCRIPTION: '', MODEL: '' })
    expect(resolved.description).toBe('plain')
    expect(resolved.echelons.echelon1).toMatchObject({ models: ['openai:gpt-4o'], base_url: 'https://api.openai.com' })
  })

  test('a missing variable without a default is env_missing, naming the variable and the key', () => {
    const problem = onlyError(check('env-injection', { env: {} }), {
      code: 'env_missing',
      file: FILE,
      path: 'task_group.metadata.region',
    })
    expect(problem.message).toContain('REGION')
    expect(problem).toMatchObject(positionOf('env-injection', FILE, 'region ='))
  })

  test('injected text is not expanded again', () => {
    const resolved = group({ REGION: 'eu', DESCRIPTION: 'see ${REGION} and ${OPENAI_API_KEY}' })
    expect(resolved.description).toBe('see ${REGION} and ${OPENAI_API_KEY}')
  })

  test('$${ writes a literal ${, and keys are never injected', () => {
    const resolved = group({ REGION: 'eu', KEY_NAME: 'injected' })
    expect(resolved.metadata.escaped).toBe('${NOT_A_VARIABLE}')
    expect(resolved.metadata).toHaveProperty(['${KEY_NAME}'], 'keys are never injected')
    expect(resolved.metadata).not.toHaveProperty('injected')
  })

  test('no resolved value is ever a literal ${VAR}', () => {
    for (const env of [
      { REGION: 'eu' },
      { REGION: '', DESCRIPTION: '', OPENAI_BASE_URL: '' },
      { REGION: 'x', MODEL: 'openai:o1' },
    ]) {
      const { config } = check('env-injection', { env })
      const values = strings(config!.task_groups.fast_group).filter((value) => value !== '${NOT_A_VARIABLE}')
      expect(values.filter((value) => value.includes('${'))).toEqual([])
    }
  })

  test('references do not nest: ${A:${B}} is an error, not a literal ${B}', () => {
    const problem = onlyError(check('env-nested-default', { env: { REGION: 'eu' } }), {
      code: 'invalid_value',
      file: FILE,
      path: 'task_group.metadata.zone',
    })
    expect(problem.message).toContain('do not nest')
  })

  test('a changed variable changes the configuration hash', () => {
    const a = check('env-injection', { env: { REGION: 'eu' } }).config!
    const b = check('env-injection', { env: { REGION: 'us' } }).config!
    const c = check('env-injection', { env: { REGION: 'eu' } }).config!
    expect(a.source.hash).not.toBe(b.source.hash)
    expect(a.source.hash).toBe(c.source.hash)
  })

  test('process.env is the default environment', async () => {
    vi.stubEnv('REGION', 'from-process-env')
    const config = await loadConfig({ directory: fixture('env-injection') })
    expect(config.task_groups.fast_group!.metadata.region).toBe('from-process-env')
  })
})

describe('typed values from the environment', () => {
  const TYPED = 'env-typed'

  function typed(env: NodeJS.ProcessEnv = {}, environment?: string) {
    const result = check(TYPED, { env, ...(environment ? { environment } : {}) })
    expect(result.errors).toEqual([])
    return result.config!
  }

  test('a string that is exactly one ${VAR:default} takes the type of its number, integer or boolean field', () => {
    const config = typed()
    const echelon = config.task_groups.fast_group!.echelons.echelon1!
    expect(echelon.concurrency_limit).toBe(10)
    expect(echelon.temperature).toBe(0.7)
    const pool = config.pools.fast_pool!
    expect(pool.health_check.interval).toBe(30)
    expect(pool.rate_limiting).toEqual({
      enabled: true,
      algorithm: 'token_bucket',
      token_bucket: { bucket_size: 100, refill_rate: 10.5 },
    })
    expect(config.registry.global).toMatchObject({ enable_hot_reload: false, reload_interval: 300 })
    expect(config.registry.pools.fast_pool!.enabled).toBe(true)
    expect(config.wrappers.fast_pool_wrapper!.global).toMatchObject({ default_timeout: 20, cache: { enabled: false } })
  })

  test("the variable's value, when set, is converted the same way", () => {
    const config = typed({
      MAX_CONCURRENCY: '25',
      TEMPERATURE: '1',
      RATE_LIMITING: 'false',
      HEALTH_INTERVAL: '2.5',
      CACHE: 'true',
    })
    expect(config.task_groups.fast_group!.echelons.echelon1).toMatchObject({ concurrency_limit: 25, temperature: 1 })
    expect(config.pools.fast_pool!.rate_limiting.enabled).toBe(false)
    expect(config.pools.fast_pool!.health_check.interval).toBe(2.5)
    expect(config.wrappers.fast_pool_wrapper!.global.cache.enabled).toBe(true)
  })

  test('strings stay strings: in string fields, in metadata, and when the string holds more than the reference', () => {
    const group = typed({ DESCRIPTION: '42' }).task_groups.fast_group!
    expect(group.description).toBe('42')
    expect(group.metadata.limit).toBe('5')
    expect(group.echelons.echelon1!.base_url).toBe('https://eu.example/v1')
  })

  test("through inheritance: a base table's reference reaches the pool, flat aliases included", () => {
    const pool = typed({ FAILURE_THRESHOLD: '7' }).pools.fast_pool!
    expect(pool.health_check).toEqual({ interval: 30, failure_threshold: 7, recovery_time: 90 })
  })

  test('through overlays: a reference the overlay writes is typed too', () => {
    expect(typed({}, 'production').task_groups.fast_group!.echelons.echelon1!.rpm_limit).toBe(100)
    expect(typed({ RPM_LIMIT: '250' }, 'production').task_groups.fast_group!.echelons.echelon1!.rpm_limit).toBe(250)
  })

  test('through the [global] a task-group wrappers file inherits from the pool wrappers file', () => {
    const config = typed({ DEFAULT_TIMEOUT: '12', TOOLS: 'false' })
    expect(config.wrappers.fast_group_wrapper!.global).toMatchObject({
      default_timeout: 12,
      function_calling_enabled: false,
    })
  })

  test('a value that does not convert names the variable, the file, the line and the key path', () => {
    const cases = [
      {
        env: { MAX_CONCURRENCY: 'ten' },
        code: 'invalid_type',
        file: 'task-groups/fast-group.toml',
        path: 'task_group.echelons.echelon1.concurrency_limit',
        at: 'concurrency_limit',
        message: /expected an integer: \$\{MAX_CONCURRENCY\} is "ten"/,
      },
      {
        env: { MAX_CONCURRENCY: '2.5' },
        code: 'invalid_value',
        file: 'task-groups/fast-group.toml',
        path: 'task_group.echelons.echelon1.concurrency_limit',
        at: 'concurrency_limit',
        message: /whole number: \$\{MAX_CONCURRENCY\} is "2\.5"/,
      },
      {
        env: { MAX_CONCURRENCY: '0' },
        code: 'invalid_value',
        file: 'task-groups/fast-group.toml',
        path: 'task_group.echelons.echelon1.concurrency_limit',
        at: 'concurrency_limit',
        message: /at least 1, got 0 \(from \$\{MAX_CONCURRENCY\}\)/,
      },
      {
        env: { MAX_CONCURRENCY: ' 10' },
        code: 'invalid_type',
        file: 'task-groups/fast-group.toml',
        path: 'task_group.echelons.echelon1.concurrency_limit',
        at: 'concurrency_limit',
        message: /\$\{MAX_CONCURRENCY\} is " 10"/,
      },
      {
        env: { RATE_LIMITING: 'yes' },
        code: 'invalid_type',
        file: 'pools/fast-pool.toml',
        path: 'pool.rate_limiting.enabled',
        at: 'enabled =',
        message: /expected true or false: \$\{RATE_LIMITING\} is "yes"/,
      },
      {
        env: { RATE_LIMITING: 'TRUE' },
        code: 'invalid_type',
        file: 'pools/fast-pool.toml',
        path: 'pool.rate_limiting.enabled',
        at: 'enabled =',
        message: /\$\{RATE_LIMITING\}/,
      },
      {
        env: { FAILURE_THRESHOLD: 'x' },
        code: 'invalid_type',
        file: 'pools/fast-pool.toml',
        path: 'pool.health_check.failure_threshold',
        at: 'failure_threshold =',
        message: /\$\{FAILURE_THRESHOLD\}/,
      },
      {
        env: { RECOVERY_TIME: '-1' },
        code: 'invalid_value',
        file: 'pools/fast-pool.toml',
        path: 'pool.health_check.recovery_time',
        at: 'recovery_time =',
        message: /\$\{RECOVERY_TIME\}/,
      },
      {
        env: { RELOAD_INTERVAL: '5m' },
        code: 'invalid_type',
        file: '_registry.toml',
        path: 'global.reload_interval',
        at: 'reload_interval',
        message: /\$\{RELOAD_INTERVAL\} is "5m"/,
      },
      {
        env: { DEFAULT_TIMEOUT: 'soon' },
        code: 'invalid_type',
        file: 'wrappers/pool-wrappers.toml',
        path: 'global.default_timeout',
        at: 'default_timeout',
        message: /\$\{DEFAULT_TIMEOUT\}/,
      },
    ] as const
    for (const { env, at, message, ...expected } of cases) {
      const problem = onlyError(check(TYPED, { env }), expected)
      expect(problem.message).toMatch(message)
      expect(problem).toMatchObject(positionOf(TYPED, expected.file, at))
    }
  })

  test('a value from an overlay that does not convert is reported against the overlay', () => {
    const problem = onlyError(check(TYPED, { env: { RPM_LIMIT: 'many' }, environment: 'production' }), {
      code: 'invalid_type',
      file: 'task-groups/fast-group.production.toml',
      path: 'task_group.echelons.echelon1.rpm_limit',
    })
    expect(problem.message).toContain('${RPM_LIMIT}')
    expect(problem).toMatchObject(positionOf(TYPED, 'task-groups/fast-group.production.toml', 'rpm_limit'))
  })

  test('use_defaults_on_failure may come from a variable too: a value that does not convert becomes the default', () => {
    const { config, errors, warnings } = check(TYPED, { env: { HEALTH_INTERVAL: 'often', USE_DEFAULTS: 'true' } })
    expect(errors).toEqual([])
    expect(warnings).toEqual([expect.objectContaining({ code: 'default_used', path: 'pool.health_check.interval' })])
    expect(config!.pools.fast_pool!.health_check.interval).toBe(30)
    onlyError(check(TYPED, { env: { HEALTH_INTERVAL: 'often' } }), {
      code: 'invalid_type',
      path: 'pool.health_check.interval',
    })
  })
})
