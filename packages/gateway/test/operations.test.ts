/** /metrics, /admin/state, /healthz, graceful shutdown and hot reload. */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, expect, test, vi } from 'vitest'
import { startGateway } from '../src/index'
import { copyFixture, FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

const env = () => ({ MOCK_URL: upstream.url })
const ask = (url: string, model = 'main_pool') =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'hi' }],
  })

/** Parses the text exposition format: samples by name, with labels; checks every line's syntax. */
function parsePrometheus(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram']).toContain(comment[3])
        types.set(comment[2]!, comment[3]!)
      }
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    expect(sample, line).not.toBeNull()
    const labels: Record<string, string> = {}
    for (const match of sample![2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? [])
      labels[match[1]!] = match[2]!
    const value = sample![3] === '+Inf' ? Infinity : Number(sample![3])
    expect(Number.isNaN(value), line).toBe(false)
    samples.push({ name: sample![1]!, labels, value })
  }
  return { samples, types }
}

test('/metrics: Prometheus text with counters, cumulative histograms, breaker state and limiter fill', async () => {
  const gateway = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER })
  try {
    for (let i = 0; i < 4; i++) await ask(gateway.url)
    const response = await fetch(`${gateway.url}/metrics`)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const { samples, types } = parsePrometheus(await response.text())
    expect(types.get('llmpool_requests_total')).toBe('counter')
    expect(types.get('llmpool_request_duration_seconds')).toBe('histogram')
    expect(types.get('llmpool_breaker_state')).toBe('gauge')
    const requests = samples.find((s) => s.name === 'llmpool_requests_total' && s.labels.pool === 'main_pool')
    expect(requests?.value).toBe(4)
    const instances = samples.filter((s) => s.name === 'llmpool_requests_total' && s.labels.scope === 'instance')
    expect(instances.map((s) => s.value).reduce((a, b) => a + b, 0)).toBe(4)
    expect(
      samples.find((s) => s.name === 'llmpool_output_tokens_total' && s.labels.pool === 'main_pool')!.value,
    ).toBeGreaterThan(0)

    const buckets = samples.filter(
      (s) => s.name === 'llmpool_request_duration_seconds_bucket' && s.labels.pool === 'main_pool',
    )
    expect(buckets.at(-1)!.labels.le).toBe('+Inf')
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
      const le = (s: (typeof buckets)[number]) => (s.labels.le === '+Inf' ? Infinity : Number(s.labels.le))
      expect(le(buckets[i]!)).toBeGreaterThan(le(buckets[i - 1]!))
    }
    const count = samples.find(
      (s) => s.name === 'llmpool_request_duration_seconds_count' && s.labels.pool === 'main_pool',
    )!
    expect(buckets.at(-1)!.value).toBe(count.value)
    expect(
      samples.some((s) => s.name === 'llmpool_request_duration_seconds_sum' && s.labels.pool === 'main_pool'),
    ).toBe(true)

    const breakers = samples.filter((s) => s.name === 'llmpool_breaker_state')
    expect(breakers.length).toBeGreaterThanOrEqual(2)
    expect(breakers.every((s) => s.value === 0)).toBe(true)
    const limit = samples.find((s) => s.name === 'llmpool_limiter_limit' && s.labels.pool === 'tight_pool')
    expect(limit?.value).toBe(1)
    expect(samples.some((s) => s.name === 'llmpool_limiter_available' && s.labels.scope === 'instance')).toBe(true)
  } finally {
    await gateway.close()
  }
})

test('/admin/state and /healthz', async () => {
  const gateway = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER })
  try {
    await ask(gateway.url)
    const state = (await (await fetch(`${gateway.url}/admin/state`)).json()) as {
      pools: { name: string; limits: unknown }[]
      instances: { key: string; breaker: { state: string }; health: { healthy: boolean }; limits: unknown }[]
      wrappers: Record<string, string>
      targets: { pools: string[]; taskGroups: string[] }
    }
    expect(state.wrappers).toEqual({ main_wrapper: 'main_pool', group_wrapper: 'main_group' })
    expect(state.targets.pools.sort()).toEqual(['main_pool', 'tight_pool'])
    expect(state.pools.find((pool) => pool.name === 'tight_pool')!.limits).toMatchObject({
      kind: 'token_bucket',
      limit: 1,
    })
    const instance = state.instances.find((entry) => entry.key.endsWith('openai:model-a'))!
    expect(instance.breaker.state).toBe('closed')
    expect(instance.health.healthy).toBe(true)
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: 'ok' })
  } finally {
    await gateway.close()
  }
})

test('graceful shutdown: stops accepting, drains the request in flight, then closes', async () => {
  const gateway = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER })
  upstream.setFaults('model-a', { latencyMs: 400 })
  upstream.setFaults('model-b', { latencyMs: 400 })
  const inFlight = ask(gateway.url)
  // Close only once the request is in flight (reached the upstream), however busy the machine is.
  await vi.waitFor(() => expect(upstream.stats().inFlight).toBe(1), { timeout: 5000, interval: 10 })
  const closing = gateway.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow()
  const completion = await inFlight
  expect(completion.choices[0]!.message.content).toMatch(/^mock reply/)
  await closing
})

test('graceful shutdown is bounded: a request still hanging after shutdownTimeoutMs is cut', async () => {
  const gateway = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER, shutdownTimeoutMs: 200 })
  upstream.setFaults('hang-model', { hang: true })
  const hanging = ask(gateway.url, 'hanging_group').catch((error: unknown) => error)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  await gateway.close()
  expect(Date.now() - started).toBeLessThan(2_000)
  expect(await hanging).toBeInstanceOf(Error)
})

test('hot reload: an edit of the configuration directory reaches the next request', async () => {
  const directory = copyFixture()
  const gateway = await startGateway({ config: directory, env: env(), router: FAST_ROUTER, watch: true })
  try {
    expect((await ask(gateway.url, 'main_group')).choices[0]!.message.content).toMatch(/^mock reply from model-[ab]/)
    const file = path.join(directory, 'task-groups', 'main-group.toml')
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('["openai:model-a", "openai:model-b"]', '["openai:model-c"]'),
    )
    const wrappers = path.join(directory, 'wrappers', 'pool-wrappers.toml')
    writeFileSync(
      wrappers,
      `${readFileSync(wrappers, 'utf8')}new_wrapper = { type = "pool", pool_name = "main_pool" }\n`,
    )
    const deadline = Date.now() + 10_000
    for (;;) {
      const content = (await ask(gateway.url, 'main_group')).choices[0]!.message.content
      if (content?.startsWith('mock reply from model-c')) break
      if (Date.now() > deadline) throw new Error(`the reload never arrived: ${content}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect((await ask(gateway.url, 'new_wrapper')).choices[0]!.message.content).toMatch(/^mock reply from model-c/)
  } finally {
    await gateway.close()
  }
})
