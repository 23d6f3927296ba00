/** `config_validation` (strict | lenient) and `use_defaults_on_failure`. */
import { describe, expect, test } from 'vitest'
import { check, onlyError, positionOf } from './helpers'

const typo = { code: 'unknown_key', file: 'pools/fast-pool.toml', path: 'pool.helth_check' } as const

describe('strict and lenient', () => {
  test('strict: an unknown key is an error that suggests the known key', () => {
    const problem = onlyError(check('unknown-key-strict'), typo)
    expect(problem.message).toBe('unknown key "helth_check" (did you mean "health_check"?)')
    expect(problem).toMatchObject(positionOf('unknown-key-strict', 'pools/fast-pool.toml', '[pool.helth_check]'))
  })

  test('lenient in the registry: a warning, the key dropped, and the configuration loads', () => {
    const { config, errors, warnings } = check('unknown-key-lenient')
    expect(errors).toEqual([])
    expect(warnings).toEqual([expect.objectContaining(typo)])
    expect(warnings[0]!.message).toContain('"health_check"')
    const pool = config!.pools.fast_pool!
    expect(pool).not.toHaveProperty('helth_check')
    expect(pool.health_check).toEqual({ interval: 30, failure_threshold: 3, recovery_time: 60 })
  })

  test('lenient through the validation option overrides a strict registry', () => {
    const { config, errors, warnings } = check('unknown-key-strict', { validation: 'lenient' })
    expect(errors).toEqual([])
    expect(warnings).toEqual([expect.objectContaining(typo)])
    expect(config!.pools.fast_pool).not.toHaveProperty('helth_check')
  })

  test('strict through the validation option overrides a lenient registry', () => {
    onlyError(check('unknown-key-lenient', { validation: 'strict' }), typo)
  })

  test('an unknown top-level table of a pool file suggests [pool]', () => {
    const problem = onlyError(check('unknown-table'), {
      code: 'unknown_key',
      file: 'pools/fast-pool.toml',
      path: 'pol',
    })
    expect(problem.message).toMatch(/\[pol\].*did you mean "pool"/)
    expect(problem).toMatchObject(positionOf('unknown-table', 'pools/fast-pool.toml', '[pol]'))
    const lenient = check('unknown-table', { validation: 'lenient' })
    expect(lenient.errors).toEqual([])
    expect(lenient.warnings).toEqual([expect.objectContaining({ code: 'unknown_key', path: 'pol' })])
  })

  test('an unknown registry key follows the same rule', () => {
    onlyError(check('registry-unknown-key'), { code: 'unknown_key', file: '_registry.toml', path: 'global.hot_reload' })
    const lenient = check('registry-unknown-key', { validation: 'lenient' })
    expect(lenient.errors).toEqual([])
    expect(lenient.config!.registry.global).not.toHaveProperty('hot_reload')
  })
})

describe('use_defaults_on_failure', () => {
  test('true: an invalid value with a default becomes the default, with a default_used warning', () => {
    const { config, errors, warnings } = check('use-defaults-on-failure')
    expect(errors).toEqual([])
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'default_used',
        file: 'pools/fast-pool.toml',
        path: 'pool.health_check.interval',
      }),
    ])
    expect(warnings[0]!.message).toContain('30')
    expect(warnings[0]).toMatchObject(positionOf('use-defaults-on-failure', 'pools/fast-pool.toml', 'interval = 0'))
    expect(config!.pools.fast_pool!.health_check.interval).toBe(30)
  })

  test('false: the same value is an error', () => {
    onlyError(check('use-defaults-off'), {
      code: 'invalid_value',
      file: 'pools/fast-pool.toml',
      path: 'pool.health_check.interval',
    })
  })

  test('the default is off', () => {
    onlyError(check('pool-interval-zero'), { code: 'invalid_value', path: 'pool.health_check.interval' })
  })
})

describe('use_defaults_on_failure does not cover everything', () => {
  test('a value whose key has no default still fails', () => {
    onlyError(check('use-defaults-no-default'), {
      code: 'invalid_value',
      file: 'task-groups/fast-group.toml',
      path: 'task_group.echelons.echelon1.models[0]',
    })
  })

  test('unknown keys still fail', () => {
    const { errors } = check('unknown-key-strict')
    expect(errors.map((problem) => problem.code)).toEqual(['unknown_key'])
  })
})
