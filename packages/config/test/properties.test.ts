/**
 * Invariants of the loader over generated input: whatever a pool or task-group file holds, `checkConfig` returns
 * (a configuration or problems) and never throws, and `loadConfig` rejects only with a ConfigError.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type ConfigCheck, ConfigError, checkConfig, loadConfig } from '@llmpool/config'
import fc from 'fast-check'
import { stringify } from 'smol-toml'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { fixture } from './helpers'

const RUNS = 200
const POOL_FILE = 'pools/fast-pool.toml'
const GROUP_FILE = 'task-groups/fast-group.toml'

let directory: string
let validPool: string

beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'llmpool-config-properties-'))
  cpSync(fixture('valid-minimal'), directory, { recursive: true })
  validPool = readFileSync(path.join(directory, POOL_FILE), 'utf8')
})

afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

const env = { OPENAI_API_KEY: 'sk-test', REGION: 'eu', EMPTY: '' }

/** What every result must look like: a configuration, or errors; every problem says where and what. */
function expectWellFormed(result: ConfigCheck): void {
  expect(result.config === undefined).toBe(result.errors.length > 0)
  for (const problem of [...result.errors, ...result.warnings]) {
    expect(typeof problem.code).toBe('string')
    expect(typeof problem.file).toBe('string')
    expect(problem.file).not.toBe('')
    expect(typeof problem.path).toBe('string')
    expect(typeof problem.message).toBe('string')
    expect(problem.message).not.toBe('')
    if (problem.line !== undefined) expect(problem.line).toBeGreaterThanOrEqual(1)
    if (problem.column !== undefined) expect(problem.column).toBeGreaterThanOrEqual(1)
  }
  if (result.config) expect(() => JSON.stringify(result.config)).not.toThrow()
}

// ---- (a) arbitrary text as a pool file

const TOML_TOKENS = [
  '[pool]',
  '[pool.health_check]',
  '[pool.rotation_strategy.options]',
  '[[pool]]',
  '[task_group]',
  '[base]',
  '[pol]',
  'name',
  'task_groups',
  'inherits_from',
  'interval',
  'weights',
  'api_key',
  '__proto__',
  'constructor',
  'toString',
  ' = ',
  '=',
  '.',
  ',',
  '"',
  "'",
  '"""',
  "'''",
  '{',
  '}',
  '[',
  ']',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '#',
  '\\',
  '\\u0000',
  '"fast_pool"',
  '"fast_group"',
  '["fast_group"]',
  '"base"',
  '"fast_pool"',
  '"constructor"',
  '"toString"',
  '"__proto__"',
  '0',
  '-1',
  '1e999',
  '-0',
  'nan',
  'inf',
  '3.14',
  '0x1F',
  'true',
  'false',
  '1979-05-27T07:32:00Z',
  '07:32:00',
  '${',
  '${REGION}',
  '${MISSING}',
  '${EMPTY:x}',
  '$${X}',
  '${1bad}',
  '${:}',
  // Names that are also properties of every JavaScript object.
  '\ninherits_from = "toString"\n',
  '\ninherits_from = "__proto__"\n',
  '\ntask_groups = ["constructor"]\n',
  '\n[pool.rotation_strategy.options]\nweights = { "toString.x" = 1, "fast_group.constructor" = 2 }\n',
  '\n[pool.__proto__]\ninterval = 1\n',
  '\nconstructor = 1\n',
]

const tomlishText = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...TOML_TOKENS) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    {
      maxLength: 60,
    },
  )
  .map((parts) => parts.join(''))

/** The valid pool file with generated text spliced in somewhere. */
const mutatedPool = fc
  .tuple(fc.nat(), fc.nat(), fc.array(fc.constantFrom(...TOML_TOKENS), { minLength: 1, maxLength: 6 }))
  .map(([at, cut, parts]) => {
    const start = at % (validPool.length + 1)
    const end = Math.min(validPool.length, start + (cut % 12))
    return validPool.slice(0, start) + parts.join('') + validPool.slice(end)
  })

const anyText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  tomlishText,
  mutatedPool,
)

describe('arbitrary text as a pool file', () => {
  test('checkConfig never throws: it returns a configuration or problems', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom<'strict' | 'lenient'>('strict', 'lenient'), (text, validation) => {
        writeFileSync(path.join(directory, POOL_FILE), text)
        expectWellFormed(checkConfig({ directory, env, validation }))
      }),
      { numRuns: RUNS },
    )
  })

  test('loadConfig rejects only with a ConfigError', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (text) => {
        writeFileSync(path.join(directory, POOL_FILE), text)
        try {
          await loadConfig({ directory, env })
        } catch (error) {
          expect(ConfigError.isInstance(error)).toBe(true)
          expect((error as ConfigError).problems.length).toBeGreaterThan(0)
        }
      }),
      { numRuns: RUNS },
    )
  })
})

// ---- (b) arbitrary values at arbitrary keys of a valid pool or task group

const KEYS = [
  'name',
  'description',
  'inherits_from',
  'task_groups',
  'rotation_strategy',
  'type',
  'options',
  'weights',
  'fast_group.echelon1',
  'health_check',
  'interval',
  'failure_threshold',
  'recovery_time',
  'health_check_interval',
  'fallback',
  'strategy',
  'fallback_pools',
  'fallback_groups',
  'fallback_strategy',
  'rate_limiting',
  'enabled',
  'algorithm',
  'token_bucket',
  'fixed_window',
  'bucket_size',
  'refill_rate',
  'metrics',
  'metadata',
  'echelons',
  'echelon1',
  'echelon2',
  'models',
  'api_key',
  'base_url',
  'temperature',
  'priority',
  'timeout',
  'max_tokens',
  'circuit_breaker',
  'half_open_requests',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  'fast_pool',
  'fast_group',
]
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
)

/** Drops what TOML cannot hold (null, undefined, holes). */
function tomlable(value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  if (Array.isArray(value)) return value.map(tomlable).filter((item) => item !== undefined)
  if (typeof value === 'object') {
    const table: Record<string, unknown> = {}
    for (const [name, item] of Object.entries(value)) {
      const kept = tomlable(item)
      if (kept !== undefined) define(table, name, kept)
    }
    return table
  }
  return value
}

/** An own property, even for `__proto__`. */
function define(table: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(table, name, { value, enumerable: true, writable: true, configurable: true })
}

/** Values that name things, including names every JavaScript object has as properties. */
const NAMES = [
  'fast_pool',
  'fast_group',
  'fast_group.echelon1',
  'fast_group.echelon9',
  'toString',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'toString.x',
  'fast_group.constructor',
  'fast_group.__proto__',
  '${REGION}',
  '${MISSING}',
]
const name = fc.constantFrom(...NAMES)

const anyTomlValue = fc
  .anything({
    key,
    maxDepth: 3,
    maxKeys: 4,
    withBigInt: false,
    withDate: false,
    withMap: false,
    withSet: false,
    withTypedArray: false,
    withSparseArray: false,
    withBoxedValues: false,
    withObjectString: false,
    withNullPrototype: false,
    withUnicodeString: true,
  })
  .map(tomlable)
  .filter((value) => value !== undefined)

const tomlValue = fc.oneof(
  anyTomlValue,
  name,
  fc.array(name, { maxLength: 3 }),
  fc.dictionary(name, fc.oneof(name, fc.integer())),
)

/** `table` with `value` set at `keys`, tables created (or replaced) along the way. */
function setAt(table: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = table
  keys.forEach((name, index) => {
    if (index === keys.length - 1) return define(node, name, value)
    const next = Object.hasOwn(node, name) ? node[name] : undefined
    if (typeof next !== 'object' || next === null || Array.isArray(next)) define(node, name, {})
    node = node[name] as Record<string, unknown>
  })
}

const POOL = {
  name: 'fast_pool',
  task_groups: ['fast_group'],
  rotation_strategy: { type: 'round_robin' },
  health_check: { interval: 30, failure_threshold: 3, recovery_time: 60 },
  rate_limiting: { enabled: true, algorithm: 'token_bucket', token_bucket: { bucket_size: 100, refill_rate: 10 } },
}
const GROUP = {
  name: 'fast_group',
  echelons: { echelon1: { models: ['openai:gpt-4o'], temperature: 0.7 }, echelon2: { models: ['openai:gpt-4o-mini'] } },
}

/** Keys whose values name other things: where a name that is also an Object property could slip through. */
const REFERENCE_PATHS = [
  ['inherits_from'],
  ['task_groups'],
  ['task_groups', '0'],
  ['rotation_strategy', 'options', 'weights'],
  ['fallback', 'fallback_pools'],
  ['fallback', 'fallback_groups'],
  ['echelons'],
  ['metadata'],
  ['health_check'],
]
const keys = fc.oneof(
  { weight: 2, arbitrary: fc.array(key, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(...REFERENCE_PATHS) },
)

describe('arbitrary values at arbitrary keys', () => {
  test('never throw: they give a configuration or problems that say where and what', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('pool' as const, 'task_group' as const),
        keys,
        tomlValue,
        fc.constantFrom<'strict' | 'lenient'>('strict', 'lenient'),
        (kind, at, value, validation) => {
          const table = structuredClone(kind === 'pool' ? POOL : GROUP) as Record<string, unknown>
          setAt(table, at, value)
          let text: string
          try {
            text = stringify({ [kind]: table })
          } catch {
            fc.pre(false)
            return
          }
          writeFileSync(path.join(directory, POOL_FILE), kind === 'pool' ? text : validPool)
          writeFileSync(path.join(directory, GROUP_FILE), kind === 'pool' ? stringify({ task_group: GROUP }) : text)
          const result = checkConfig({ directory, env, validation })
          expectWellFormed(result)
          for (const problem of [...result.errors, ...result.warnings]) expect(problem.path).not.toBe('')
        },
      ),
      { numRuns: RUNS },
    )
  })
})

// ---- (c) arbitrary values at arbitrary keys of the registry

const REGISTRY = {
  pools: { fast_pool: { file: 'pools/fast-pool.toml' } },
  task_groups: { fast_group: { file: 'task-groups/fast-group.toml' } },
  wrappers: { pool_wrappers: { file: 'wrappers/pool-wrappers.toml' } },
  global: { config_validation: 'strict' },
  dependencies: { fast_pool: ['fast_group'], pool_wrappers: ['fast_pool'] },
}
const registryKey = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'pools',
      'task_groups',
      'wrappers',
      'global',
      'dependencies',
      'registry',
      'file',
      'enabled',
      'fast_pool',
      'fast_group',
      'pool_wrappers',
      'config_validation',
      'use_defaults_on_failure',
    ),
  },
  { weight: 2, arbitrary: name },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
)

const registryKeys = fc.oneof(
  { weight: 2, arbitrary: fc.array(registryKey, { minLength: 1, maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<string[]>(
      ['dependencies', 'fast_pool'],
      ['dependencies'],
      ['pools'],
      ['pools', 'fast_pool', 'file'],
    ),
  },
)

describe('arbitrary values at arbitrary keys of the registry', () => {
  test('never throw', () => {
    fc.assert(
      fc.property(registryKeys, tomlValue, (at, value) => {
        const registry = structuredClone(REGISTRY) as Record<string, unknown>
        setAt(registry, at, value)
        let text: string
        try {
          text = stringify(registry)
        } catch {
          fc.pre(false)
          return
        }
        writeFileSync(path.join(directory, POOL_FILE), validPool)
        writeFileSync(path.join(directory, GROUP_FILE), stringify({ task_group: GROUP }))
        writeFileSync(path.join(directory, '_registry.toml'), text)
        try {
          expectWellFormed(checkConfig({ directory, env }))
        } finally {
          writeFileSync(path.join(directory, '_registry.toml'), stringify(REGISTRY))
        }
      }),
      { numRuns: RUNS },
    )
  })
})

// ---- (d) a reference to any name, in every place that holds one

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/
const OBJECT_PROPERTY_NAMES = [
  'toString',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'toString.x',
  'fast_group.constructor',
  'fast_group.__proto__',
]

/** Where a reference goes: which file, and how to put `name` there. */
const PLACES: Record<string, (name: string) => { pool?: object; group?: object; registry?: object }> = {
  'pool.inherits_from': (name) => ({ pool: { ...POOL, inherits_from: name } }),
  'pool.task_groups': (name) => ({ pool: { ...POOL, task_groups: ['fast_group', name] } }),
  'pool weights key': (name) => ({
    pool: { ...POOL, rotation_strategy: { type: 'weighted', options: { weights: withKey(name, 1) } } },
  }),
  'pool.fallback.fallback_pools': (name) => ({
    pool: { ...POOL, fallback: { strategy: 'pool_fallback', fallback_pools: [name] } },
  }),
  'task_group.inherits_from': (name) => ({ group: { ...GROUP, inherits_from: name } }),
  'task_group.fallback.fallback_groups': (name) => ({ group: { ...GROUP, fallback: { fallback_groups: [name] } } }),
  'dependencies value': (name) => ({ registry: { ...REGISTRY, dependencies: { fast_pool: [name] } } }),
  'dependencies key': (name) => ({ registry: { ...REGISTRY, dependencies: withKey(name, ['fast_group']) } }),
  'registry pools key': (name) => ({
    registry: { ...REGISTRY, pools: withKey(name, { file: 'pools/fast-pool.toml', enabled: false }, REGISTRY.pools) },
  }),
}

function withKey(name: string, value: unknown, base: object = {}): Record<string, unknown> {
  const table = { ...base } as Record<string, unknown>
  define(table, name, value)
  return table
}

describe('a reference to any name', () => {
  test('never throws, and a name that only JavaScript objects have is never accepted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(PLACES)),
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...OBJECT_PROPERTY_NAMES) },
          { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
        ),
        (place, name) => {
          const { pool = POOL, group = GROUP, registry = REGISTRY } = PLACES[place]!(name)
          writeFileSync(path.join(directory, POOL_FILE), stringify({ pool }))
          writeFileSync(path.join(directory, GROUP_FILE), stringify({ task_group: group }))
          writeFileSync(path.join(directory, '_registry.toml'), stringify(registry))
          try {
            const result = checkConfig({ directory, env })
            expectWellFormed(result)
            if (!OBJECT_PROPERTY_NAMES.includes(name)) return
            if (place === 'registry pools key' && NAME.test(name)) {
              // Registering a pool named `constructor` is fine: it is a name like any other.
              expect(result.errors).toEqual([])
              expect(Object.hasOwn(result.config!.registry.pools, name)).toBe(true)
            } else expect(result.errors.length, `${place} = ${name}`).toBeGreaterThan(0)
          } finally {
            writeFileSync(path.join(directory, POOL_FILE), validPool)
            writeFileSync(path.join(directory, '_registry.toml'), stringify(REGISTRY))
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})

// ---- (e) typed values from the environment

describe('a whole ${VAR} in an integer field', () => {
  test('is the integer the variable spells, or one problem that names the variable and never throws', () => {
    const typed = fixture('env-typed')
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -5, max: 10_000 }).map(String),
          fc.double().map(String),
          fc.string({ maxLength: 12 }),
        ),
        (text) => {
          const result = checkConfig({ directory: typed, env: { MAX_CONCURRENCY: text } })
          expectWellFormed(result)
          // An empty variable takes the default (10).
          const expected =
            text === '' ? 10 : /^[+-]?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined
          if (expected !== undefined && Number.isInteger(expected) && expected >= 1) {
            expect(result.errors).toEqual([])
            expect(result.config!.task_groups.fast_group!.echelons.echelon1!.concurrency_limit).toBe(expected)
          } else {
            expect(result.errors).toEqual([
              expect.objectContaining({ path: 'task_group.echelons.echelon1.concurrency_limit' }),
            ])
            expect(result.errors[0]!.message).toContain('${MAX_CONCURRENCY}')
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
