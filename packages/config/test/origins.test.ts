/** `originOf`: which file and line wrote a resolved value, through inheritance, overlays and wrapper globals. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { checkConfig, createConfigStore, originOf, type ResolvedConfig } from '@llmpool/config'
import { afterAll, describe, expect, test } from 'vitest'
import { check, fixture, positionOf, REAL_TREE } from './helpers'

function loaded(name: string, options: Parameters<typeof check>[1] = {}): ResolvedConfig {
  const { config, errors } = check(name, options)
  expect(errors).toEqual([])
  return config!
}

/** configs/llms, the design document's tree (which loads with one expected no_effect warning). */
function realTree(): ResolvedConfig {
  const { config, errors } = checkConfig({ directory: REAL_TREE, env: {} })
  expect(errors).toEqual([])
  return config!
}

/** `{ file, line }` of the first occurrence of `needle` in a fixture file. */
function written(name: string, file: string, needle: string) {
  return { file, line: positionOf(name, file, needle).line }
}

const POOL = 'pools/fast-pool.toml'
const GROUP = 'task-groups/fast-group.toml'

describe('originOf', () => {
  test('a value the file writes is that file and line; one the schema fills in is a default', () => {
    const config = loaded('valid-minimal')
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual(
      written('valid-minimal', POOL, 'interval = 30'),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['name'])).toEqual(written('valid-minimal', POOL, 'name ='))
    expect(originOf(config, 'pool', 'fast_pool', ['metrics', 'interval'])).toEqual({ default: true })
    expect(originOf(config, 'pool', 'fast_pool', ['metrics'])).toEqual({ default: true })
    expect(originOf(config, 'task_group', 'fast_group', ['echelons', 'echelon1', 'temperature'])).toEqual(
      written('valid-minimal', GROUP, 'temperature'),
    )
    expect(originOf(config, 'task_group', 'fast_group', ['echelons', 'echelon1', 'models', '0'])).toEqual(
      written('valid-minimal', GROUP, 'models'),
    )
    expect(originOf(config, 'task_group', 'fast_group', ['fallback', 'max_attempts'])).toEqual({ default: true })
    expect(originOf(config, 'task_group', 'fast_group', ['cooldown', 'max_time'])).toEqual({ default: true })
  })

  test("an echelon's priority taken from its position is a default; a written one is not", () => {
    expect(originOf(loaded('valid-minimal'), 'task_group', 'fast_group', ['echelons', 'echelon2', 'priority'])).toEqual(
      { default: true },
    )
    const real = realTree()
    expect(originOf(real, 'task_group', 'fast_group', ['echelons', 'echelon2', 'priority'])).toMatchObject({
      file: 'task-groups/fast-group.toml',
      line: expect.any(Number),
    })
  })

  test("through a registered base: the base's file and line for what only the base writes", () => {
    const config = loaded('inheritance-registered')
    const base = 'pools/base-pool.toml'
    expect(originOf(config, 'pool', 'fast_pool', ['description'])).toEqual(
      written('inheritance-registered', base, 'description'),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual(
      written('inheritance-registered', POOL, 'interval = 20'),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'failure_threshold'])).toEqual(
      written('inheritance-registered', base, 'failure_threshold'),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'recovery_time'])).toEqual({ default: true })
    expect(originOf(config, 'pool', 'fast_pool', ['rate_limiting', 'fixed_window', 'max_requests'])).toEqual(
      written('inheritance-registered', base, 'max_requests'),
    )
    // name is never inherited.
    expect(originOf(config, 'pool', 'fast_pool', ['name'])).toEqual(written('inheritance-registered', POOL, 'name ='))
  })

  test('through a base table of the same file, flat aliases at their own line', () => {
    const name = 'inheritance-document-example'
    const file = 'pools/specific-pool.toml'
    const config = loaded(name)
    expect(originOf(config, 'pool', 'specific_pool', ['health_check', 'interval'])).toEqual(
      written(name, file, 'health_check_interval = 60'),
    )
    expect(originOf(config, 'pool', 'specific_pool', ['health_check', 'failure_threshold'])).toEqual(
      written(name, file, 'failure_threshold = 3'),
    )
  })

  test('through an environment overlay: the overlay for what it sets, the base file for the rest', () => {
    const config = loaded('overlays', { environment: 'production' })
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual(
      written('overlays', 'pools/fast-pool.production.toml', 'interval = 10'),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'failure_threshold'])).toEqual(
      written('overlays', POOL, 'failure_threshold'),
    )
  })

  test('a value from a ${VAR} is the file and line of the reference', () => {
    const config = loaded('env-typed', { env: { FAILURE_THRESHOLD: '6' } })
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'failure_threshold'])).toEqual(
      written('env-typed', POOL, 'failure_threshold ='),
    )
    expect(originOf(config, 'pool', 'fast_pool', ['health_check', 'recovery_time'])).toEqual(
      written('env-typed', POOL, 'recovery_time ='),
    )
  })

  test('fallback_strategy and fallback.strategy are one setting: either was written by the key that was', () => {
    const config = loaded('origin-fallback-strategy')
    const key = written('origin-fallback-strategy', GROUP, 'fallback_strategy')
    expect(originOf(config, 'task_group', 'fast_group', ['fallback_strategy'])).toEqual(key)
    expect(originOf(config, 'task_group', 'fast_group', ['fallback', 'strategy'])).toEqual(key)
    expect(originOf(loaded('valid-minimal'), 'task_group', 'fast_group', ['fallback', 'strategy'])).toEqual({
      default: true,
    })
  })

  test('a value that use_defaults_on_failure replaced is a default', () => {
    const { config } = check('use-defaults-on-failure')
    expect(originOf(config!, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual({ default: true })
  })

  test('wrappers: their own keys, and the [global] key from the file that wrote it', () => {
    const config = realTree()
    const tree = (file: string, needle: string) => {
      const text = readFileSync(path.join(REAL_TREE, file), 'utf8')
      return { file, line: text.slice(0, text.indexOf(needle)).split('\n').length }
    }
    const groupWrappers = 'wrappers/task-group-wrappers.toml'
    const poolWrappers = 'wrappers/pool-wrappers.toml'
    // A task-group wrappers file inherits the pool wrappers' [global]: the key comes from the file that wrote it.
    expect(originOf(config, 'wrapper', 'execute_group_wrapper', ['global', 'default_timeout'])).toEqual(
      tree(poolWrappers, 'default_timeout'),
    )
    expect(originOf(config, 'wrapper', 'execute_group_wrapper', ['global', 'cache', 'ttl'])).toEqual(
      tree(poolWrappers, 'ttl'),
    )
    expect(originOf(config, 'wrapper', 'execute_group_wrapper', ['global', 'function_calling_enabled'])).toEqual(
      tree(groupWrappers, 'function_calling_enabled'),
    )
    expect(originOf(config, 'wrapper', 'fast_pool_wrapper', ['global', 'default_timeout'])).toEqual(
      tree(poolWrappers, 'default_timeout'),
    )
    expect(originOf(config, 'wrapper', 'execute_group_wrapper', ['task_group_name'])).toEqual(
      tree(groupWrappers, 'task_group_name = "execute_group"'),
    )
    expect(originOf(config, 'wrapper', 'execute_group_wrapper', ['file'])).toEqual(
      tree(groupWrappers, 'execute_group_wrapper ='),
    )
    const minimal = loaded('valid-minimal')
    expect(originOf(minimal, 'wrapper', 'fast_pool_wrapper', ['global', 'max_retries'])).toEqual({ default: true })
    expect(originOf(minimal, 'wrapper', 'fast_pool_wrapper', ['enabled'])).toEqual({ default: true })
  })

  test('a name, a path or a configuration it does not know is a RangeError', () => {
    const config = loaded('valid-minimal')
    expect(() => originOf(config, 'pool', 'slow_pool', ['name'])).toThrow(RangeError)
    expect(() => originOf(config, 'task_group', 'fast_pool', ['name'])).toThrow(RangeError)
    expect(() => originOf(config, 'task_group', 'fast_group', ['echelons', 'echelon1', 'timeout'])).toThrow(
      /no value at echelons\.echelon1\.timeout/,
    )
    expect(() => originOf(config, 'task_group', 'fast_group', ['echelons', 'echelon1', 'models', '1'])).toThrow(
      RangeError,
    )
    const copy = JSON.parse(JSON.stringify(config)) as ResolvedConfig
    expect(() => originOf(copy, 'pool', 'fast_pool', ['name'])).toThrow(/not loaded by @llmpool\/config/)
  })

  test('the configuration stays a frozen, plain JSON value', () => {
    const config = loaded('inheritance-registered')
    originOf(config, 'pool', 'fast_pool', ['description'])
    expect(Object.isFrozen(config.pools.fast_pool)).toBe(true)
    expect(Object.keys(config.pools.fast_pool!)).not.toContain('origins')
    expect(JSON.parse(JSON.stringify(config))).toEqual(JSON.parse(JSON.stringify(loaded('inheritance-registered'))))
    expect(fixture('inheritance-registered')).toBe(config.source.directory)
  })
})

describe('originOf across hot reloads', () => {
  const directories: string[] = []
  afterAll(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true })
  })

  test('an entry a reload reuses keeps its origins; a changed file gives new lines', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-origins-'))
    directories.push(directory)
    cpSync(REAL_TREE, directory, { recursive: true })
    const store = await createConfigStore({ directory, env: {}, watch: false })
    try {
      const before = store.current
      const interval = originOf(before, 'pool', 'fast_pool', ['health_check', 'interval']) as {
        file: string
        line: number
      }
      const thinking = originOf(before, 'pool', 'thinking_pool', ['health_check', 'interval'])
      const file = path.join(directory, 'pools/fast-pool.toml')
      writeFileSync(file, `# one more line\n${readFileSync(file, 'utf8').replace('interval = 30', 'interval = 31')}`)
      const outcome = await store.reload()
      expect(outcome.status).toBe('applied')
      const after = store.current
      expect(after.pools.thinking_pool).toBe(before.pools.thinking_pool)
      expect(originOf(after, 'pool', 'thinking_pool', ['health_check', 'interval'])).toEqual(thinking)
      expect(originOf(after, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual({
        file: interval.file,
        line: interval.line + 1,
      })
      // The configuration it replaced still answers for itself.
      expect(originOf(before, 'pool', 'fast_pool', ['health_check', 'interval'])).toEqual(interval)
    } finally {
      await store.dispose()
    }
  })
})
