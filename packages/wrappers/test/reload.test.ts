/** Hot reload reaches the wrappers: they look their target up per call; a removed wrapper fails clearly. */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { generateText, jsonSchema, tool } from 'ai'
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { UnknownWrapperError } from '../src/index'
import { copyFixture, logCollector, openPool } from './helpers'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(async () => {
  await upstream.close()
})

function edit(directory: string, file: string, change: (text: string) => string) {
  const target = path.join(directory, file)
  writeFileSync(target, change(readFileSync(target, 'utf8')))
}

test('a wrapper object follows an edited pool_name; a removed wrapper fails with UnknownWrapperError', async () => {
  const directory = copyFixture('basic')
  const pool = await openPool(upstream, directory)
  const model = pool.wrapper('fast_pool_wrapper')
  const other = pool.wrapper('other_pool_wrapper')
  expect((await generateText({ model, prompt: 'before' })).text).toBe('mock reply from model-fast: before')

  edit(directory, 'wrappers/pool-wrappers.toml', (text) =>
    text.replace('pool_name = "fast_pool"', 'pool_name = "other_pool"'),
  )
  expect((await pool.store.reload()).status).toBe('applied')
  expect((await generateText({ model, prompt: 'after' })).text).toBe('mock reply from model-other: after')

  edit(directory, 'wrappers/pool-wrappers.toml', (text) => text.replace(/other_pool_wrapper = .*\n/, ''))
  expect((await pool.store.reload()).status).toBe('applied')
  const error = await generateText({ model: other, prompt: 'gone' }).catch((caught: unknown) => caught)
  expect(UnknownWrapperError.isInstance(error)).toBe(true)
  expect((error as Error).message).toMatch(
    /no enabled wrapper is named "other_pool_wrapper"; available: "fast_pool_wrapper", "auto_group_wrapper"/,
  )
  expect(() => pool.wrapper('other_pool_wrapper')).toThrow(UnknownWrapperError)
  expect((await generateText({ model, prompt: 'still' })).text).toBe('mock reply from model-other: still')
  await pool.dispose()
})

test('per-wrapper settings follow a reload too (function_calling_enabled)', async () => {
  const directory = copyFixture('basic')
  const pool = await openPool(upstream, directory)
  const model = pool.wrapper('auto_group_wrapper')
  const tools = {
    noop: tool({
      inputSchema: jsonSchema<Record<string, never>>({ type: 'object', properties: {} }),
      execute: async () => 'ok',
    }),
  }
  await generateText({ model, prompt: 'x', tools })
  edit(directory, 'wrappers/auto-wrappers.toml', (text) => `${text}function_calling_enabled = false\n`)
  expect((await pool.store.reload()).status).toBe('applied')
  await expect(generateText({ model, prompt: 'x', tools })).rejects.toMatchObject({ code: 'function_calling_disabled' })
  await pool.dispose()
})

test('with watch: true, an edit on disk reaches a wrapper without a manual reload; a bad edit is rejected and logged', async () => {
  const directory = copyFixture('basic')
  edit(directory, 'wrappers/pool-wrappers.toml', (text) => `${text}\n[global.logging]\nenable_request_logging = true\n`)
  const log = logCollector()
  const pool = await openPool(upstream, directory, { watch: true, logDestination: log })
  const model = pool.wrapper('fast_pool_wrapper')
  expect((await generateText({ model, prompt: 'a' })).text).toContain('model-fast')
  edit(directory, 'wrappers/pool-wrappers.toml', (text) =>
    text.replace('pool_name = "fast_pool"', 'pool_name = "other_pool"'),
  )
  await vi.waitFor(async () => expect((await generateText({ model, prompt: 'b' })).text).toContain('model-other'), {
    timeout: 10_000,
    interval: 100,
  })
  edit(directory, 'wrappers/pool-wrappers.toml', (text) =>
    text.replace('pool_name = "other_pool"', 'pool_name = "no_such_pool"'),
  )
  await vi.waitFor(
    () => expect(log.records().some((record) => record.msg === 'configuration reload rejected')).toBe(true),
    { timeout: 10_000, interval: 100 },
  )
  expect((await generateText({ model, prompt: 'c' })).text).toContain('model-other')
  expect(log.records().some((record) => record.msg === 'configuration reloaded')).toBe(true)
  await pool.dispose()
})

test('startupWaitMs: a pool opened while its registry is being written waits for the write and serves', async () => {
  const directory = copyFixture('basic')
  const registry = path.join(directory, '_registry.toml')
  const whole = readFileSync(registry, 'utf8')
  writeFileSync(registry, whole.slice(0, whole.length / 3))
  const rewritten = new Promise<void>((resolve) => setTimeout(() => resolve(writeFileSync(registry, whole)), 300))
  const pool = await openPool(upstream, directory, { startupWaitMs: 3_000 })
  await rewritten
  const { text } = await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'hi' })
  expect(text).toBe('mock reply from model-fast: hi')
  await pool.dispose()
})

test('router events follow a reload of [global.logging]: a retry logged at info shows once the level allows it', async () => {
  const directory = copyFixture('basic')
  const logging = (level: string) => `\n[global.logging]\nenable_request_logging = true\nlevel = "${level}"\n`
  edit(directory, 'wrappers/pool-wrappers.toml', (text) => `${text}${logging('warn')}`)
  const log = logCollector()
  const pool = await openPool(upstream, directory, { logDestination: log })
  const model = pool.wrapper('fast_pool_wrapper')
  const retries = () => log.records().filter((record) => record.event === 'retry').length
  try {
    upstream.setFaults('model-fast', { status: 500, times: 1 })
    expect((await generateText({ model, prompt: 'a' })).text).toContain('model-fast')
    expect(retries()).toBe(0)
    edit(directory, 'wrappers/pool-wrappers.toml', (text) => text.replace(logging('warn'), logging('info')))
    expect((await pool.store.reload()).status).toBe('applied')
    upstream.setFaults('model-fast', { status: 500, times: 1 })
    expect((await generateText({ model, prompt: 'b' })).text).toContain('model-fast')
    expect(retries()).toBe(1)
  } finally {
    upstream.clearFaults('model-fast')
    await pool.dispose()
  }
})
