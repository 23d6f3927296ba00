/** pino is an optional peer dependency: without it, logging fails with what to install; without logging, nothing. */
import { MissingPackageError } from '@llmpool/schema'
import { createMockUpstream } from '@llmpool/testing'
import { expect, test, vi } from 'vitest'
import { fixture, openPool } from './helpers'

vi.mock('pino', () => {
  throw new Error("Cannot find package 'pino'")
})

test('request logging on and no pino: createLLMPool rejects with "npm install pino"', async () => {
  const upstream = await createMockUpstream()
  const error = await openPool(upstream, fixture('cache-logging')).catch((caught: unknown) => caught)
  expect((error as Error).message).toMatch(/needs the optional package pino: npm install pino/)
  expect(MissingPackageError.isInstance(error)).toBe(true)
  expect(error).toMatchObject({ code: 'missing_optional_package', packageName: 'pino' })
  const quiet = await openPool(upstream, fixture('basic')) // no logging asked for: pino is never imported
  await quiet.dispose()
  await upstream.close()
})
