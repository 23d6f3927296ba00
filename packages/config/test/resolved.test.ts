/** The shape of a load: one frozen configuration, or every problem at once. */
import { ConfigError, checkConfig, loadConfig } from '@llmpool/config'
import { describe, expect, test } from 'vitest'
import { check, fixture, positionOf } from './helpers'

describe('the resolved configuration', () => {
  test('valid-minimal resolves with every default filled in', () => {
    const { config, errors, warnings } = check('valid-minimal')
    expect(errors).toEqual([])
    expect(warnings).toEqual([])
    const pool = config!.pools.fast_pool!
    expect(pool.fallback).toEqual({ strategy: 'instance_rotation', max_instance_attempts: 2, fallback_pools: [] })
    expect(pool.metrics).toEqual({ enabled: true, interval: 60, retention_period: 86400 })
    expect(pool.rotation_strategy).toEqual({ type: 'round_robin', options: { weights: {} } })
    expect(pool.metadata).toEqual({})
    const group = config!.task_groups.fast_group!
    expect(group.circuit_breaker).toEqual({ failure_threshold: 5, recovery_time: 60, half_open_requests: 1 })
    expect(group.fallback_strategy).toBe('echelon_down')
    expect(group.fallback.strategy).toBe('echelon_down')
    // An echelon without priority takes its position in the file; optional limits stay absent, and so do timeout
    // and max_retries: their defaults come from the wrappers' [global] in the routing plan (docs/routing.md).
    expect(group.echelons.echelon1).toEqual({ models: ['openai:gpt-4o'], temperature: 0.7, priority: 1 })
    expect(group.echelons.echelon2).toEqual({ models: ['openai:gpt-4o-mini'], priority: 2 })
    expect(group.cooldown).toEqual({ default_time: 5, max_time: 300 })
    expect(config!.wrappers.fast_pool_wrapper!.global).toMatchObject({ default_timeout: 20, max_retries: 3 })
    expect(config!.registry.global.use_defaults_on_failure).toBe(false)
    expect(config!.source).toMatchObject({
      directory: fixture('valid-minimal'),
      environment: undefined,
      files: {
        pools: { fast_pool: 'pools/fast-pool.toml' },
        task_groups: { fast_group: 'task-groups/fast-group.toml' },
        wrappers: { fast_pool_wrapper: 'wrappers/pool-wrappers.toml' },
      },
    })
  })

  test('is deeply frozen', () => {
    const config = check('valid-minimal').config!
    const pool = config.pools.fast_pool!
    for (const value of [
      config,
      config.pools,
      pool,
      pool.health_check,
      pool.task_groups,
      config.task_groups.fast_group!.echelons.echelon1!.models,
      config.registry.global,
      config.source,
      config.source.files,
      config.wrappers.fast_pool_wrapper!.global.cache,
    ])
      expect(Object.isFrozen(value)).toBe(true)
    // ES modules run in strict mode: writing to a frozen object throws.
    expect(() => {
      ;(pool.health_check as { interval: number }).interval = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(pool.task_groups as string[]).push('other')
    }).toThrow(TypeError)
    expect(() => {
      delete (config.pools as Record<string, unknown>).fast_pool
    }).toThrow(TypeError)
    expect(pool.health_check.interval).toBe(30)
  })

  test('two loads of the same files have the same hash', () => {
    expect(check('valid-minimal').config!.source.hash).toBe(check('valid-minimal').config!.source.hash)
    expect(check('valid-minimal').config!.source.hash).not.toBe(check('wrapper-disabled').config!.source.hash)
  })
})

describe('every problem at once', () => {
  test('five independent errors in three files are all reported in one result', () => {
    const { config, errors } = check('many-problems')
    expect(config).toBeUndefined()
    const found = errors.map(({ code, file, path }) => ({ code, file, path }))
    expect(found).toHaveLength(5)
    expect(found).toEqual(
      expect.arrayContaining([
        { code: 'invalid_value', file: '_registry.toml', path: 'global.reload_interval' },
        { code: 'invalid_value', file: 'pools/fast-pool.toml', path: 'pool.health_check.interval' },
        { code: 'invalid_value', file: 'pools/fast-pool.toml', path: 'pool.rotation_strategy.type' },
        {
          code: 'invalid_value',
          file: 'task-groups/fast-group.toml',
          path: 'task_group.echelons.echelon1.temperature',
        },
        { code: 'invalid_value', file: 'task-groups/fast-group.toml', path: 'task_group.echelons.echelon2.models[0]' },
      ]),
    )
    const temperature = errors.find((problem) => problem.path.endsWith('temperature'))!
    expect(temperature).toMatchObject(positionOf('many-problems', 'task-groups/fast-group.toml', 'temperature = 2.5'))
  })

  test('loadConfig rejects with one ConfigError listing them all', async () => {
    const error = await loadConfig({ directory: fixture('many-problems'), env: {} }).then(
      () => undefined,
      (reason: unknown) => reason,
    )
    expect(ConfigError.isInstance(error)).toBe(true)
    const configError = error as ConfigError
    expect(configError.code).toBe('config_invalid')
    expect(configError.problems).toHaveLength(5)
    expect(configError.message).toMatch(/^Invalid configuration: .* \(and 4 more problems\)$/)
    expect(configError.problems).toEqual(checkConfig({ directory: fixture('many-problems'), env: {} }).errors)
  })

  test('loadConfig resolves a valid directory; checkConfig never throws for a bad one', async () => {
    await expect(loadConfig({ directory: fixture('valid-minimal'), env: {} })).resolves.toMatchObject({
      pools: { fast_pool: { name: 'fast_pool' } },
    })
    expect(() => checkConfig({ directory: fixture('does-not-exist'), env: {} })).not.toThrow()
    expect(checkConfig({ directory: fixture('does-not-exist'), env: {} }).errors).toEqual([
      expect.objectContaining({
        code: 'directory_not_found',
        file: '',
        message: `directory not found: ${fixture('does-not-exist')}`,
      }),
    ])
  })
})
