/** pino is an optional peer dependency: without it, logging fails with what to install; without logging, nothing. */
import { createMockUpstream } from '@llmpool/testing'
import { expect, test, vi } from 'vitest'
import { fixture, openPool } from './helpers'

vi.mock('pino', () => {
  throw new Error("Cannot find package 'pino'")
})

test('request logging on and no pino: createLLMPool rejects with "npm install pino"', async () => {
  const upstream = await createMockUpstream()
  await expect(openPool(upstream, fixture('cache-logging'))).rejects.toThrow(/needs the optional package pino: npm install pino/)
  const quiet = await openPool(upstream, fixture('basic')) // no logging asked for: pino is never imported
  await quiet.dispose()
  await upstream.close()
})
