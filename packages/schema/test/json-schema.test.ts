import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import Ajv2020 from 'ajv/dist/2020.js'
import { parse } from 'smol-toml'
import { describe, expect, expectTypeOf, test } from 'vitest'
import {
  type Echelon,
  FILE_KINDS,
  type FileKind,
  type Pool,
  type RegistryGlobal,
  toJsonSchema,
  type Wrapper,
} from '../src/index'

const CONFIGS = path.resolve(import.meta.dirname, '../../../configs/llms')

function validator(kind: FileKind) {
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  return ajv.compile(toJsonSchema(kind))
}

/** TOML dates become strings, as @llmpool/config does. */
function read(file: string): unknown {
  return JSON.parse(JSON.stringify(parse(readFileSync(path.join(CONFIGS, file), 'utf8'))))
}

const filesOfKind: Record<FileKind, string[]> = {
  registry: ['_registry.toml'],
  pool: readdirSync(path.join(CONFIGS, 'pools')).map((file) => `pools/${file}`),
  task_group: readdirSync(path.join(CONFIGS, 'task-groups')).map((file) => `task-groups/${file}`),
  pool_wrappers: ['wrappers/pool-wrappers.toml'],
  task_group_wrappers: ['wrappers/task-group-wrappers.toml'],
}

describe('toJsonSchema', () => {
  test.each(FILE_KINDS)('%s: a valid draft 2020-12 schema', (kind) => {
    const schema = toJsonSchema(kind)
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(() => validator(kind)).not.toThrow()
  })

  test.each(FILE_KINDS)('%s: accepts every file of configs/llms as written', (kind) => {
    const validate = validator(kind)
    for (const file of filesOfKind[kind]) {
      const valid = validate(read(file))
      expect(validate.errors ?? [], file).toEqual([])
      expect(valid).toBe(true)
    }
  })

  test('flags a typo, a bad enum value and a value out of range, as an editor would', () => {
    const validate = validator('pool')
    const pool = read('pools/fast-pool.toml') as { pool: Record<string, unknown> }
    const broken = {
      pool: { ...pool.pool, helth_check: {}, rotation_strategy: { type: 'round-robin' }, metrics: { interval: 0 } },
    }
    expect(validate(broken)).toBe(false)
    const messages = (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`)
    expect(messages).toContain('/pool must NOT have additional properties')
    expect(messages).toContain('/pool/rotation_strategy/type must be equal to one of the allowed values')
    expect(messages).toContain('/pool/metrics/interval must be > 0')
  })

  test('keys with a default are optional in files; keys without one are required', () => {
    const schema = toJsonSchema('task_group') as {
      properties: {
        task_group: { properties: { echelons: { patternProperties: Record<string, { required?: string[] }> } } }
      }
    }
    const echelon = Object.values(schema.properties.task_group.properties.echelons.patternProperties)[0]!
    expect(echelon.required).toEqual(['models'])
    const registry = toJsonSchema('registry') as { required?: string[] }
    expect(registry.required).toBeUndefined()
  })

  test('documents the default and the meaning of each key', () => {
    const schema = toJsonSchema('registry') as {
      properties: { global: { properties: Record<string, { default?: unknown; description?: string }> } }
    }
    const global = schema.properties.global.properties
    expect(global.config_validation).toMatchObject({ default: 'strict', enum: ['strict', 'lenient'] })
    expect(global.reload_interval!.default).toBe(300)
    for (const [key, property] of Object.entries(global)) expect(property.description, key).toBeTruthy()
  })

  test('accepts one "${VAR:default}" in a number, integer or boolean key, which takes the key\'s type when injected', () => {
    const validate = validator('task_group')
    const group = (echelon: Record<string, unknown>) => ({
      task_group: { name: 'g', echelons: { e: { models: ['openai:gpt-4o'], ...echelon } } },
    })
    expect(validate(group({ concurrency_limit: '${MAX_CONCURRENCY:10}', temperature: '${TEMPERATURE}' }))).toBe(true)
    expect(
      validator('pool')({
        pool: { name: 'p', task_groups: ['g'], rate_limiting: { enabled: '${RATE_LIMITING:true}' } },
      }),
    ).toBe(true)
    // Anything else in such a key is still flagged: a string that is not one reference, a number out of range.
    expect(validate(group({ concurrency_limit: 'ten' }))).toBe(false)
    expect(validate(group({ concurrency_limit: '${A}${B}' }))).toBe(false)
    expect(validate(group({ concurrency_limit: 0 }))).toBe(false)
  })

  test('accepts the flat health-check aliases of the design document in a pool file', () => {
    const validate = validator('pool')
    expect(
      validate({
        base_pool: { health_check_interval: 30 },
        pool: { inherits_from: 'base_pool', name: 'p', health_check_interval: 60 },
      }),
    ).toBe(true)
  })
})

describe('static types', () => {
  test('describe the resolved form: defaulted keys are always there', () => {
    expectTypeOf<Pool['health_check']['interval']>().toEqualTypeOf<number>()
    expectTypeOf<Pool['rotation_strategy']['type']>().toEqualTypeOf<
      'round_robin' | 'random' | 'weighted' | 'least_connections' | `custom:${string}`
    >()
    expectTypeOf<RegistryGlobal['config_validation']>().toEqualTypeOf<'strict' | 'lenient'>()
    expectTypeOf<Echelon['rpm_limit']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<Echelon['models']>().toEqualTypeOf<string[]>()
    expectTypeOf<Wrapper['type']>().toEqualTypeOf<'pool' | 'task_group'>()
  })
})
