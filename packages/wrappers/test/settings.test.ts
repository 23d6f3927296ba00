/** Each wrappers file's [global] applies to its own wrappers; pools and task groups by name get the defaults. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type LLMPool, textDestination } from '../src/index'
import { fixture, openPool } from './helpers'

let upstream: MockUpstream
let pool: LLMPool

beforeAll(async () => {
  upstream = await createMockUpstream()
  pool = await openPool(upstream, fixture('basic'))
})
afterAll(async () => {
  await pool.dispose()
  await upstream.close()
})

test("a pool wrapper: its file's [global] (seconds become milliseconds, names map one to one)", () => {
  const entry = pool.router.entry('fast_pool_wrapper')
  expect(entry).toMatchObject({ kind: 'wrapper', target: 'fast_pool', file: 'wrappers/pool-wrappers.toml' })
  expect(entry.retry).toEqual({
    retryOn: ['timeout', 'rate_limit', 'network_error', 'server_error'],
    baseDelayMs: 250,
    backoffFactor: 2,
    maxRetryDelayMs: 50,
  })
  // default_timeout = 1 and max_retries = 1 are the defaults of echelons that set neither.
  const candidate = entry.route.kind === 'pool' ? entry.route.stages[0]!.tiers[0]![0]! : undefined
  expect(candidate).toMatchObject({ attemptTimeoutMs: 1000, maxRetries: 1 })
  expect(candidate!.sources.attemptTimeoutMs).toBe('wrappers/pool-wrappers.toml:6: [global] default_timeout')
  expect(entry.services.tools).toBeUndefined()
  // other_group's echelon sets its own timeout = 5 and max_retries = 0: those win.
  const other = pool.router.entry('other_pool_wrapper')
  const own = other.route.kind === 'pool' ? other.route.stages[0]!.tiers[0]![0]! : undefined
  expect(own).toMatchObject({ attemptTimeoutMs: 5000, maxRetries: 0 })
  expect(own!.sources.attemptTimeoutMs).toMatch(/other-group.toml:\d+: task_group.echelons.main.timeout$/)
  // The request deadline: room to walk the chain once (one instance of 1 s) and a margin of 1 s.
  expect(entry.requestTimeoutMs).toBe(2000)
  expect(entry.maxCalls).toBe(2)
})

test("a task-group wrapper: its own file's [global], inheriting the pool wrappers file's keys it does not set", () => {
  const entry = pool.router.entry('manual_group_wrapper')
  expect(entry).toMatchObject({ kind: 'wrapper', target: 'fast_group', file: 'wrappers/manual-wrappers.toml' })
  expect(entry.services.tools).toEqual({ enabled: true, selection: 'manual' })
  expect(entry.retry.maxRetryDelayMs).toBe(50)
  const candidate = entry.route.kind === 'task_group' ? entry.route.steps[0]!.candidates[0]! : undefined
  expect(candidate).toMatchObject({ attemptTimeoutMs: 1000, maxRetries: 1 })
  expect(pool.router.entry('no_tools_group_wrapper').services.tools).toEqual({ enabled: false, selection: 'auto' })
})

test('a pool or task group by its own name: the documented defaults (30 s per attempt, 3 retries, no cache, no tool policy)', () => {
  for (const name of ['fast_pool', 'fast_group']) {
    const entry = pool.router.entry(name)
    expect(entry.file).toBeUndefined()
    expect(entry.retry).toEqual({
      retryOn: ['timeout', 'rate_limit', 'network_error'],
      baseDelayMs: 250,
      backoffFactor: 2,
      maxRetryDelayMs: 10_000,
    })
    expect(entry.services).toMatchObject({ cache: undefined, tools: undefined })
    const candidate =
      entry.route.kind === 'pool' ? entry.route.stages[0]!.tiers[0]![0]! : entry.route.steps[0]!.candidates[0]!
    expect(candidate).toMatchObject({ attemptTimeoutMs: 30_000, maxRetries: 3 })
  }
})

test('format = "text": time, level, message, then key=value', () => {
  const lines: string[] = []
  const out = textDestination({ write: (line) => lines.push(line) })
  out.write(
    `${JSON.stringify({ level: 30, time: 0, name: 'llmpool', msg: 'llmpool request', wrapper: 'w', request: { messages: 1 } })}\n`,
  )
  expect(lines).toEqual([
    '1970-01-01T00:00:00.000Z INFO llmpool request name=llmpool wrapper=w request={"messages":1}\n',
  ])
})
