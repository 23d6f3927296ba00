/** Secrets are real in the configuration, and `[redacted]` wherever it, or a problem, is shown. */
import { format, inspect } from 'node:util'
import { ConfigError, isSecretKey, loadConfig, REDACTED, redactUrl, suggestions } from '@llmpool/config'
import { describe, expect, test } from 'vitest'
import { check, fixture } from './helpers'

const SECRET = 'sk-live-SECRET'
const env = { OPENAI_API_KEY: SECRET }

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true)
    return error as ConfigError
  }
  throw new Error('expected a rejection')
}

/** Every way a ConfigError may end up in a log. */
function shown(error: ConfigError): string[] {
  return [
    error.message,
    String(error),
    JSON.stringify(error),
    inspect(error, { depth: null }),
    ...error.problems.map((problem) => problem.message),
    ...error.warnings.map((problem) => problem.message),
  ]
}

describe('secrets', () => {
  test('the value is real for the code that uses it', () => {
    const { config, errors } = check('secrets', { env })
    expect(errors).toEqual([])
    expect(config!.task_groups.fast_group!.echelons.echelon1!.api_key).toBe(SECRET)
    expect(config!.task_groups.fast_group!.metadata.admin_password).toBe('hunter2-SECRET')
  })

  test('JSON.stringify of the configuration, or of any part of it, redacts it', () => {
    const { config } = check('secrets', { env })
    const echelon = config!.task_groups.fast_group!.echelons.echelon1!
    for (const text of [
      JSON.stringify(config),
      JSON.stringify(config!.task_groups),
      JSON.stringify(config!.task_groups.fast_group),
      JSON.stringify(echelon),
      JSON.stringify(config!.task_groups.fast_group!.metadata),
    ]) {
      expect(text).not.toContain('SECRET')
      expect(text).toContain(REDACTED)
    }
    // max_tokens counts tokens: it is not a secret.
    expect(JSON.parse(JSON.stringify(echelon))).toMatchObject({ api_key: REDACTED, max_tokens: 2000 })
  })

  test('util.inspect and console.log formatting redact it', () => {
    const { config } = check('secrets', { env })
    for (const text of [
      inspect(config, { depth: null }),
      inspect(config!.task_groups.fast_group!.echelons, { depth: null }),
      format('%o', config),
      format('%O', config!.task_groups.fast_group!.echelons.echelon1),
    ]) {
      expect(text).not.toContain('SECRET')
      expect(text).toContain(REDACTED)
    }
    expect(inspect(config!.task_groups.fast_group!.echelons.echelon1)).toContain('max_tokens: 2000')
  })

  test('an invalid secret value is not echoed in the problem', async () => {
    const { errors } = check('secret-invalid-value')
    expect(errors).toEqual([
      expect.objectContaining({ code: 'invalid_type', path: 'task_group.echelons.echelon1.api_key' }),
    ])
    expect(errors[0]!.message).not.toContain('987654321')
    const error = await rejection(loadConfig({ directory: fixture('secret-invalid-value'), env: {} }))
    for (const text of shown(error)) expect(text).not.toContain('987654321')
  })

  test('a TOML syntax error on a line holding a secret does not echo the line', async () => {
    const { errors } = check('secret-syntax-error')
    expect(errors).toEqual([
      expect.objectContaining({ code: 'toml_syntax', file: 'task-groups/fast-group.toml', line: 7 }),
    ])
    const error = await rejection(loadConfig({ directory: fixture('secret-syntax-error'), env: {} }))
    for (const text of shown(error)) expect(text).not.toContain(SECRET)
  })

  test('a secret pasted where a variable name belongs is not echoed', async () => {
    const { errors } = check('secret-bad-reference')
    expect(errors).toEqual([
      expect.objectContaining({ code: 'invalid_value', path: 'task_group.echelons.echelon1.api_key' }),
    ])
    const error = await rejection(loadConfig({ directory: fixture('secret-bad-reference'), env: {} }))
    for (const text of shown(error)) expect(text).not.toContain(SECRET)
  })

  test('a missing secret variable names the variable, never a value', async () => {
    const error = await rejection(loadConfig({ directory: fixture('secrets'), env: {} }))
    expect(error.problems).toEqual([
      expect.objectContaining({ code: 'env_missing', path: 'task_group.echelons.echelon1.api_key' }),
    ])
    expect(error.problems[0]!.message).toContain('OPENAI_API_KEY')
  })

  test('which keys are secrets', () => {
    for (const key of [
      'api_key',
      'apiKey',
      'access_token',
      'client_secret',
      'password',
      'db_password_file',
      'credentials',
    ])
      expect(isSecretKey(key), key).toBe(true)
    for (const key of ['max_tokens', 'tokens', 'models', 'base_url', 'keyword'])
      expect(isSecretKey(key), key).toBe(false)
  })
})

describe('api_keys', () => {
  const keys = { OPENAI_API_KEY: 'sk-first-SECRET' }

  test('the keys are real for the code that uses them', () => {
    const { config, errors } = check('secrets-api-keys', { env: keys })
    expect(errors).toEqual([])
    expect(config!.task_groups.fast_group!.echelons.echelon1!.api_keys).toEqual(['sk-first-SECRET', 'sk-second-SECRET'])
  })

  test('JSON.stringify, util.inspect and console.log formatting redact every key', () => {
    const { config } = check('secrets-api-keys', { env: keys })
    const echelon = config!.task_groups.fast_group!.echelons.echelon1!
    for (const text of [
      JSON.stringify(config),
      JSON.stringify(config!.task_groups.fast_group),
      JSON.stringify(echelon),
      inspect(config, { depth: null }),
      inspect(echelon),
      format('%o', config),
      format('%O', echelon),
    ]) {
      expect(text).not.toContain('SECRET')
      expect(text).toContain(REDACTED)
    }
    expect(JSON.parse(JSON.stringify(echelon)).api_keys).toEqual([REDACTED, REDACTED])
  })

  test('no problem about the keys shows one', async () => {
    for (const name of [
      'group-api-keys-duplicate',
      'group-api-keys-empty-key',
      'group-api-keys-with-api-key',
      'secret-bad-reference-api-keys',
    ]) {
      const error = await rejection(loadConfig({ directory: fixture(name), env: {} }))
      for (const text of shown(error)) expect(text, name).not.toContain('SECRET')
    }
    // A secret pasted where a variable name belongs, in a list of keys.
    const { errors } = check('secret-bad-reference-api-keys')
    expect(errors).toContainEqual(
      expect.objectContaining({
        code: 'invalid_value',
        path: 'task_group.echelons.echelon1.api_keys[1]',
        message: expect.stringMatching(/^this value is not a valid variable reference/),
      }),
    )
  })
})

describe('credentials inside URLs', () => {
  test('are real in the configuration and redacted wherever it is shown', () => {
    const { config } = check('secrets', { env })
    const echelon = config!.task_groups.fast_group!.echelons.echelon2!
    expect(echelon.base_url).toContain('url-SECRET')
    for (const text of [
      JSON.stringify(echelon),
      JSON.stringify(config),
      inspect(echelon),
      inspect(config, { depth: null }),
    ]) {
      expect(text).not.toContain('SECRET')
    }
    expect(JSON.parse(JSON.stringify(echelon)).base_url).toBe(
      `https://proxy-user:${REDACTED}@proxy.example/v1?api_key=${REDACTED}&region=eu`,
    )
  })

  test('redactUrl leaves URLs without credentials, and text that is not a URL, as they are', () => {
    expect(redactUrl('http://127.0.0.1:8080/v1')).toBe('http://127.0.0.1:8080/v1')
    expect(redactUrl('https://api.openai.com/v1?region=eu')).toBe('https://api.openai.com/v1?region=eu')
    expect(redactUrl('not a url: user:pass@host')).toBe('not a url: user:pass@host')
    expect(redactUrl('https://h/?access_token=abc')).toBe(`https://h/?access_token=${REDACTED}`)
  })
})

describe('suggestions', () => {
  test('lists likely typos and names that contain the input, closest first', () => {
    expect(suggestions('helth_check', ['health_check', 'fallback', 'metrics'])).toEqual(['health_check'])
    expect(suggestions('fast', ['fast_pool', 'fast_group', 'thinking_pool'])).toEqual(['fast_group', 'fast_pool'])
    expect(suggestions('zzz', ['fast_pool'])).toEqual([])
  })
})
