/** `x.<environment>.toml` merged over `x.toml`, chosen by LLMPOOL_ENV or the `environment` option. */
import { describe, expect, test } from 'vitest'
import { check, onlyError, positionOf } from './helpers'

describe('environment overlays', () => {
  test('without an environment, no overlay applies', () => {
    const { config, errors } = check('overlays')
    expect(errors).toEqual([])
    expect(config!.source.environment).toBeUndefined()
    expect(config!.registry.registry.description).toBe('smallest complete configuration')
    expect(Object.keys(config!.pools)).toEqual(['fast_pool'])
    expect(config!.pools.fast_pool!.health_check.interval).toBe(30)
    expect(config!.task_groups.fast_group!.echelons.echelon1!.models).toEqual(['openai:gpt-4o'])
  })

  test.each([
    ['LLMPOOL_ENV in env', { env: { LLMPOOL_ENV: 'production' } }],
    ['the environment option', { environment: 'production' }],
  ])('with %s, x.production.toml merges over x.toml, the registry too', (_how, options) => {
    const { config, errors } = check('overlays', options)
    expect(errors).toEqual([])
    expect(config!.source.environment).toBe('production')
    // _registry.production.toml enables slow_pool and keeps its file from _registry.toml.
    expect(config!.registry.registry).toEqual({ version: '1.0.0', description: 'production' })
    expect(config!.registry.pools.slow_pool).toEqual({ file: 'pools/slow-pool.toml', enabled: true })
    expect(Object.keys(config!.pools).sort()).toEqual(['fast_pool', 'slow_pool'])
    // Deep merge: the overlay sets only interval.
    expect(config!.pools.fast_pool!.health_check).toEqual({ interval: 10, failure_threshold: 3, recovery_time: 60 })
    expect(config!.pools.fast_pool!.rate_limiting.token_bucket).toEqual({ bucket_size: 100, refill_rate: 10 })
    // Arrays replace.
    expect(config!.task_groups.fast_group!.echelons.echelon1).toMatchObject({
      models: ['anthropic:claude-3-5-sonnet'],
      temperature: 0.7,
    })
  })

  test('the environment option wins over LLMPOOL_ENV', () => {
    const { config } = check('overlays', { environment: 'production', env: { LLMPOOL_ENV: 'staging' } })
    expect(config!.source.environment).toBe('production')
  })

  test('an environment without overlay files changes nothing', () => {
    const { config, errors } = check('overlays', { environment: 'staging' })
    expect(errors).toEqual([])
    expect(config!.pools.fast_pool!.health_check.interval).toBe(30)
  })

  test('a problem in a key the overlay sets is reported against the overlay file', () => {
    const problem = onlyError(check('overlays', { environment: 'broken' }), {
      code: 'invalid_value',
      file: 'pools/fast-pool.broken.toml',
      path: 'pool.health_check.interval',
    })
    expect(problem).toMatchObject(positionOf('overlays', 'pools/fast-pool.broken.toml', 'interval = 0'))
  })

  test('the overlay changes the configuration hash', () => {
    expect(check('overlays').config!.source.hash).not.toBe(
      check('overlays', { environment: 'production' }).config!.source.hash,
    )
  })

  test('an environment name that is not a plain word is refused', () => {
    expect(() => check('overlays', { environment: '../etc' })).toThrow(RangeError)
  })
})
