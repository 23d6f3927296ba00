/** configs/llms, the layout of the design document, loads cleanly and resolves to what the document means. */
import { checkConfig, loadConfig } from '@llmpool/config'
import { describe, expect, test } from 'vitest'
import { REAL_TREE } from './helpers'

describe('configs/llms', () => {
  test("loads with no errors, and one warning: the document's fast-pool.toml writes a table its algorithm ignores", () => {
    const { config, errors, warnings } = checkConfig({ directory: REAL_TREE, env: {} })
    expect(errors).toEqual([])
    // The design document's file writes [pool.rate_limiting.fixed_window] next to algorithm = "token_bucket".
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'no_effect',
        file: 'pools/fast-pool.toml',
        path: 'pool.rate_limiting.fixed_window',
        line: 44,
        column: 1,
      }),
    ])
    expect(config).toBeDefined()
  })

  test('holds only the enabled entries: high_concurrency_pool is disabled', async () => {
    const config = await loadConfig({ directory: REAL_TREE, env: {} })
    expect(Object.keys(config.pools).sort()).toEqual(['fast_pool', 'plan_pool', 'thinking_pool'])
    expect(config.pools).not.toHaveProperty('high_concurrency_pool')
    expect(Object.keys(config.task_groups).sort()).toEqual([
      'execute_group',
      'fast_group',
      'plan_group',
      'thinking_group',
    ])
    expect(Object.keys(config.wrappers)).toHaveLength(7)
    expect(config.source.files.pools.fast_pool).toBe('pools/fast-pool.toml')
    expect(config.source.hash).toMatch(/^[0-9a-f]{64}$/)
  })

  test('fills in defaults and keeps what the files say', async () => {
    const config = await loadConfig({ directory: REAL_TREE, env: {} })
    const fast = config.pools.fast_pool!
    expect(fast.metrics).toEqual({ enabled: true, interval: 60, retention_period: 86400 })
    expect(fast.health_check).toEqual({ interval: 30, failure_threshold: 3, recovery_time: 60 })
    expect(fast.rate_limiting.token_bucket).toEqual({ bucket_size: 1000, refill_rate: 16.67 })
    // thinking_pool writes no [pool.metrics]: all defaults.
    expect(config.pools.thinking_pool!.metrics).toEqual({ enabled: true, interval: 60, retention_period: 86400 })
    expect(config.pools.thinking_pool!.rotation_strategy.options.weights).toEqual({
      'thinking_group.echelon1': 10,
      'thinking_group.echelon2': 5,
      'thinking_group.echelon3': 1,
    })
    expect(config.pools.thinking_pool!.fallback.fallback_pools).toEqual(['fast_pool'])
    const fastGroup = config.task_groups.fast_group!
    expect(Object.values(fastGroup.echelons).map((echelon) => echelon.priority)).toEqual([1, 2, 3])
    expect(fastGroup.fallback).toEqual({
      strategy: 'echelon_down',
      fallback_groups: ['fast_group.echelon2', 'fast_group.echelon3'],
      max_attempts: 3,
      retry_delay: 1,
    })
    expect(fastGroup.fallback_strategy).toBe('echelon_down')
    // thinking_group has no [task_group.metrics]: defaults.
    expect(config.task_groups.thinking_group!.metrics).toEqual({ enabled: true, collection_interval: 60 })
    expect(config.registry.global).toEqual({
      config_validation: 'strict',
      enable_hot_reload: true,
      reload_interval: 300,
      cache_enabled: true,
      use_defaults_on_failure: true,
    })
  })

  test("task-group wrappers inherit the pool wrappers' [global] and add tool calling", async () => {
    const config = await loadConfig({ directory: REAL_TREE, env: {} })
    const poolWrapper = config.wrappers.fast_pool_wrapper!
    const groupWrapper = config.wrappers.execute_group_wrapper!
    expect(poolWrapper).toMatchObject({ type: 'pool', pool_name: 'fast_pool', file: 'wrappers/pool-wrappers.toml' })
    expect(poolWrapper.global).not.toHaveProperty('function_calling_enabled')
    expect(groupWrapper).toMatchObject({
      type: 'task_group',
      task_group_name: 'execute_group',
      file: 'wrappers/task-group-wrappers.toml',
    })
    expect(groupWrapper.global).toMatchObject({
      default_timeout: 30,
      max_retries: 3,
      enable_metrics: true,
      metrics_interval: 60,
      cache: { enabled: true, max_size: 1000, ttl: 300 },
      logging: { level: 'info', format: 'json', enable_request_logging: true, enable_response_logging: false },
      error_handling: {
        retry_on_errors: ['timeout', 'rate_limit', 'network_error'],
        max_retry_delay: 10,
        backoff_factor: 2,
      },
      function_calling_enabled: true,
      tool_selection_strategy: 'auto',
    })
    // Everything a pool wrapper has, a task-group wrapper has too.
    expect(groupWrapper.global).toMatchObject(poolWrapper.global)
  })

  test('execute_group echelon1 takes the base_url default without OPENAI_BASE_URL, and the variable when set', async () => {
    const without = await loadConfig({ directory: REAL_TREE, env: {} })
    expect(without.task_groups.execute_group!.echelons.echelon1).toMatchObject({
      base_url: 'https://api.openai.com',
      api_key: '',
    })
    const withEnv = await loadConfig({
      directory: REAL_TREE,
      env: { OPENAI_BASE_URL: 'https://proxy.internal/v1', OPENAI_API_KEY: 'sk-test-123' },
    })
    expect(withEnv.task_groups.execute_group!.echelons.echelon1).toMatchObject({
      base_url: 'https://proxy.internal/v1',
      api_key: 'sk-test-123',
    })
    expect(withEnv.source.hash).not.toBe(without.source.hash)
  })
})
