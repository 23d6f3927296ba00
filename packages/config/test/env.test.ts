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

  test('${VAR} takes the variable\'s value', () => {
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
    expect(resolved.echelons.echelon1).toMatchObject({ models: ['openai:gpt-4o'], api_key: '', base_url: 'https://api.openai.com' })
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
    for (const env of [{ REGION: 'eu' }, { REGION: '', DESCRIPTION: '', OPENAI_BASE_URL: '' }, { REGION: 'x', MODEL: 'openai:o1' }]) {
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
