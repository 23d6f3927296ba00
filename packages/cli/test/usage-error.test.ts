import { ConfigError } from '@llmpool/config'
import { LLMPoolError } from '@llmpool/schema'
import { expect, test } from 'vitest'
import { UsageError } from '../src/usage-error'

test('UsageError has a guard of its own: true for usage errors only, and an LLMPoolError with code cli_usage', () => {
  const error = new UsageError('unknown command "valdate"', { help: 'llmpool --help' })
  expect(UsageError.isInstance(error)).toBe(true)
  expect(LLMPoolError.isInstance(error)).toBe(true)
  expect(error).toMatchObject({ code: 'cli_usage', name: 'UsageError', help: 'llmpool --help' })
  expect(UsageError.isInstance(new ConfigError([]))).toBe(false)
  expect(ConfigError.isInstance(error)).toBe(false)
})
