/** `inherits_from`: a table of the same file or a registered entry; deep merge, child wins, arrays replace. */
import { describe, expect, test } from 'vitest'
import { check, onlyError, positionOf } from './helpers'

describe('inheritance', () => {
  test("the design document's example, as written, resolves its flat keys into health_check", () => {
    const { config, errors, warnings } = check('inheritance-document-example')
    expect(errors).toEqual([])
    expect(warnings).toEqual([])
    const pool = config!.pools.specific_pool!
    expect(pool.health_check).toEqual({ interval: 60, failure_threshold: 3, recovery_time: 60 })
    expect(pool.name).toBe('specific_pool')
    // The resolved pool holds only the nested form.
    expect(pool).not.toHaveProperty('health_check_interval')
    expect(pool).not.toHaveProperty('failure_threshold')
    expect(pool).not.toHaveProperty('recovery_time')
    expect(Object.keys(config!.pools)).toEqual(['specific_pool'])
  })

  test('from another registered pool: tables merge, the child wins, arrays replace', () => {
    const { config, errors } = check('inheritance-registered')
    expect(errors).toEqual([])
    const pool = config!.pools.fast_pool!
    expect(pool.name).toBe('fast_pool')
    expect(pool.description).toBe('shared settings')
    expect(pool.health_check).toEqual({ interval: 20, failure_threshold: 5, recovery_time: 60 })
    expect(pool.rate_limiting).toEqual({
      enabled: true,
      algorithm: 'fixed_window',
      fixed_window: { window_size: 60, max_requests: 600 },
    })
    expect(pool.metadata).toEqual({ tags: ['fast'], owner: 'platform' })
    // The base is a pool of its own, untouched by its child.
    expect(config!.pools.base_pool!.health_check).toEqual({ interval: 10, failure_threshold: 5, recovery_time: 60 })
    expect(config!.pools.base_pool!.metadata).toEqual({ tags: ['shared', 'base'], owner: 'platform' })
  })

  test('name is never inherited', () => {
    onlyError(check('inheritance-name-not-inherited'), {
      code: 'missing_key',
      file: 'pools/fast-pool.toml',
      path: 'pool.name',
    })
  })

  test('a disabled registered pool or task group serves as a template', () => {
    const { config, errors } = check('inheritance-disabled-base')
    expect(errors).toEqual([])
    expect(Object.keys(config!.pools)).toEqual(['fast_pool'])
    expect(Object.keys(config!.task_groups)).toEqual(['fast_group'])
    expect(config!.pools.fast_pool).toMatchObject({
      name: 'fast_pool',
      task_groups: ['fast_group'],
      health_check: { interval: 15, failure_threshold: 3, recovery_time: 90 },
    })
    const group = config!.task_groups.fast_group!
    expect(group.name).toBe('fast_group')
    expect(group.circuit_breaker.failure_threshold).toBe(2)
    expect(Object.keys(group.echelons)).toEqual(['primary', 'backup'])
    expect(group.echelons.primary).toMatchObject({ models: ['anthropic:claude-3-5-sonnet'], timeout: 10, priority: 1 })
    expect(group.echelons.backup).toMatchObject({ models: ['openai:gpt-4o-mini'], priority: 2 })
    // No timeout of its own: the routing plan applies the wrappers' default_timeout (docs/routing.md).
    expect(group.echelons.backup!.timeout).toBeUndefined()
  })

  test("a chain of bases: local table → registered pool → a table of that pool's file", () => {
    const { config, errors, warnings } = check('inheritance-chain')
    expect(errors).toEqual([])
    expect(warnings).toEqual([])
    expect(config!.pools.fast_pool).toMatchObject({
      name: 'fast_pool',
      task_groups: ['fast_group'],
      health_check: { interval: 45, failure_threshold: 4, recovery_time: 300 },
      metadata: { tier: 'defaults' },
    })
  })

  test('a cycle of tables in one file names the chain', () => {
    const problem = onlyError(check('inheritance-cycle-local'), {
      code: 'inheritance_cycle',
      file: 'pools/fast-pool.toml',
      path: 'base_b.inherits_from',
    })
    expect(problem.message).toBe('inheritance cycle: pool → base_a → base_b → base_a')
    expect(problem).toMatchObject(
      positionOf('inheritance-cycle-local', 'pools/fast-pool.toml', 'inherits_from = "base_a"   #'),
    )
  })

  test('a cycle across registered pools names the chain', () => {
    const problem = onlyError(check('inheritance-cycle-registered'), {
      code: 'inheritance_cycle',
      file: 'pools/base-pool.toml',
      path: 'pool.inherits_from',
    })
    expect(problem.message).toBe('inheritance cycle: fast_pool → base_pool → fast_pool')
  })

  test('an unknown base names the chain', () => {
    const problem = onlyError(check('inheritance-unknown-base'), {
      code: 'unknown_base',
      file: 'pools/fast-pool.toml',
      path: 'pool.inherits_from',
    })
    expect(problem.message).toContain('"ghost_pool"')
    expect(problem.message).toContain('pool → ghost_pool')
    expect(problem).toMatchObject(positionOf('inheritance-unknown-base', 'pools/fast-pool.toml', 'inherits_from'))
  })

  test("a bad inherits_from does not hide the section's other problems: all are reported in one run", () => {
    const name = 'inheritance-unknown-base-other-problems'
    const { config, errors } = check(name)
    expect(config).toBeUndefined()
    const pool = 'pools/fast-pool.toml'
    const group = 'task-groups/fast-group.toml'
    const found = errors.map(({ code, file, path }) => ({ code, file, path }))
    expect(found).toEqual(
      expect.arrayContaining([
        { code: 'unknown_base', file: pool, path: 'pool.inherits_from' },
        { code: 'unknown_key', file: pool, path: 'pool.retries' },
        { code: 'invalid_value', file: pool, path: 'pool.rotation_strategy.type' },
        { code: 'invalid_value', file: pool, path: 'pool.health_check.interval' },
        { code: 'name_mismatch', file: pool, path: 'pool.name' },
        { code: 'unknown_base', file: group, path: 'task_group.inherits_from' },
        { code: 'unknown_key', file: group, path: 'base_group' },
        { code: 'invalid_value', file: group, path: 'task_group.echelons.echelon1.temperature' },
      ]),
    )
    // Keys the intended base may give are not reported missing; nothing else is reported.
    expect(found).toHaveLength(8)
    expect(errors.find((problem) => problem.path === 'task_group.inherits_from')!.message).toContain(
      'did you mean "base_group"',
    )
    expect(errors.find((problem) => problem.path === 'pool.health_check.interval')).toMatchObject(
      positionOf(name, pool, 'interval = 0'),
    )
  })

  test('a problem in a registered base is reported once, against the base', () => {
    const unknown = onlyError(check('inheritance-base-unknown-key'), {
      code: 'unknown_key',
      file: 'pools/base-pool.toml',
      path: 'pool.helth_check',
    })
    expect(unknown).toMatchObject(
      positionOf('inheritance-base-unknown-key', 'pools/base-pool.toml', '[pool.helth_check]'),
    )
    const invalid = onlyError(check('inheritance-base-invalid-value'), {
      code: 'invalid_value',
      file: 'pools/base-pool.toml',
      path: 'pool.health_check.interval',
    })
    expect(invalid).toMatchObject(positionOf('inheritance-base-invalid-value', 'pools/base-pool.toml', 'interval = 0'))
  })

  test('a problem in a value a disabled template gives is reported against the template', () => {
    const problem = onlyError(check('inheritance-template-invalid-value'), {
      code: 'invalid_value',
      file: 'pools/template-pool.toml',
      path: 'pool.health_check.interval',
    })
    expect(problem).toMatchObject(
      positionOf('inheritance-template-invalid-value', 'pools/template-pool.toml', 'interval = 0'),
    )
  })

  test('a problem in a value a base table gives points at the base table', () => {
    const problem = onlyError(check('inheritance-local-base-invalid-value'), {
      code: 'invalid_value',
      file: 'pools/fast-pool.toml',
      path: 'pool.health_check.interval',
    })
    expect(problem).toMatchObject(
      positionOf('inheritance-local-base-invalid-value', 'pools/fast-pool.toml', 'interval = 0'),
    )
  })
})
