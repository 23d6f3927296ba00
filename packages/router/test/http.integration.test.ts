/** The router over real HTTP, through the AI SDK providers, against the fault-injecting mock upstream. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createConfigStore, loadConfig } from '@llmpool/config'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { Router } from '../src/index'
import { prompt } from './helpers'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(async () => {
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

function files(options: { timeout?: number; maxRetries?: number; breakerThreshold?: number; provider?: string } = {}) {
  const provider = options.provider ?? 'openai'
  return {
    '_registry.toml':
      '[pools]\npool = { file = "pools/pool.toml" }\n[task_groups]\ngroup = { file = "task-groups/group.toml" }\n',
    'pools/pool.toml': '[pool]\nname = "pool"\ntask_groups = ["group"]\n[pool.fallback]\nmax_instance_attempts = 2\n',
    'task-groups/group.toml': `
[task_group]
name = "group"
[task_group.circuit_breaker]
failure_threshold = ${options.breakerThreshold ?? 3}
recovery_time = 60
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.main]
models = ["${provider}:model-a", "${provider}:model-b"]
timeout = ${options.timeout ?? 5}
max_retries = ${options.maxRetries ?? 1}
api_key = "test-key"
base_url = "${upstream.url}/v1"
`,
  }
}

function writeTree(tree: Record<string, string>): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-router-http-'))
  for (const [file, text] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
    writeFileSync(path.join(directory, file), text)
  }
  return directory
}

async function routerFor(
  options: Parameters<typeof files>[0] = {},
  routerOptions: Partial<ConstructorParameters<typeof Router>[0]> = {},
) {
  const config = await loadConfig({ directory: writeTree(files(options)), env: {} })
  return new Router({
    config,
    healthChecks: false,
    retry: { baseDelayMs: 5, maxRetryDelayMs: 2_000 },
    ...routerOptions,
  })
}

const text = (result: { content: { type: string; text?: string }[] }) =>
  result.content.map((part) => part.text ?? '').join('')

async function readAll(stream: ReadableStream<{ type: string }>) {
  const parts: { type: string; [key: string]: unknown }[] = []
  for await (const part of stream) parts.push(part as { type: string })
  return parts
}

describe('over HTTP', () => {
  test('OpenAI Chat Completions through the openai provider', async () => {
    const router = await routerFor()
    const result = await router.generate('pool', prompt)
    expect(text(result)).toContain('mock reply from model-')
    expect(upstream.stats().arrivals).toBe(1)
    const recorded = upstream.requests()[0]!
    expect(recorded.path).toBe('/v1/chat/completions')
    await router.dispose()
  })

  test('Anthropic Messages through the anthropic provider', async () => {
    const router = await routerFor({ provider: 'anthropic' })
    const result = await router.generate('group', prompt)
    expect(text(result)).toContain('mock reply from model-')
    expect(upstream.requests()[0]!.path).toBe('/v1/messages')
    await router.dispose()
  })

  test('one instance failing every call: no request fails, and its breaker opens', async () => {
    upstream.setFaults('model-a', { status: 500 })
    const router = await routerFor({ maxRetries: 0, breakerThreshold: 3 })
    const changes: string[] = []
    router.on((event) => event.type === 'breaker_change' && changes.push(`${event.instance}:${event.to}`))
    const results = await Promise.all(Array.from({ length: 20 }, () => router.generate('pool', prompt)))
    expect(results.every((result) => result.routing.instance === 'group.main/openai:model-b')).toBe(true)
    expect(changes).toContain('group.main/openai:model-a:open')
    // Once open, model-a gets no more traffic.
    const before = upstream.stats().models['model-a']!.arrivals
    await Promise.all(Array.from({ length: 10 }, () => router.generate('pool', prompt)))
    expect(upstream.stats().models['model-a']!.arrivals).toBe(before)
    await router.dispose()
  })

  test('429 with Retry-After: the instance rests that long; with nothing else left, the retry waits for it', async () => {
    upstream.setFaults('model-a', { status: 429, retryAfter: 1, times: 1 })
    upstream.setFaults('model-b', { status: 429, retryAfter: 1, times: 1 })
    const router = await routerFor({ maxRetries: 1 })
    const started = Date.now()
    const result = await router.generate('group', prompt)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
    // a rests, b is tried at once and rests too; both tried (max_attempts = 2): the last one is retried after its rest.
    expect(
      result.routing.attempts.map((attempt) => [attempt.instance.split(':')[1], attempt.error?.kind ?? 'ok']),
    ).toEqual([
      ['model-a', 'rate_limit'],
      ['model-b', 'rate_limit'],
      ['model-b', 'ok'],
    ])
    await router.dispose()
  })

  test('a hang times out and falls over to the other instance', async () => {
    upstream.setFaults('model-a', { hang: true })
    const router = await routerFor({ timeout: 0.3, maxRetries: 0 })
    const results = []
    for (let i = 0; i < 2; i++) results.push(await router.generate('group', prompt))
    const failed = results.flatMap((result) => result.routing.attempts.filter((attempt) => attempt.error))
    expect(failed.map((attempt) => attempt.error?.kind)).toEqual(['timeout'])
    expect(results.every((result) => result.routing.instance.endsWith('model-b'))).toBe(true)
    await upstream.whenIdle()
    expect(upstream.stats().models['model-a']!.aborted).toBe(1)
    await router.dispose()
  })

  test('a stream cut before its first chunk falls over; cut after it, ends with an error part', async () => {
    upstream.setFaults('model-a', { streamCutAfterChunks: 0 })
    const router = await routerFor({ maxRetries: 0 })
    const first = await router.stream('group', prompt)
    const parts = await readAll(first.stream)
    expect(first.routing.instance.endsWith('model-b')).toBe(true)
    expect(parts.some((part) => part.type === 'finish')).toBe(true)
    expect(parts.some((part) => part.type === 'error')).toBe(false)

    upstream.setFaults('model-a', { streamCutAfterChunks: 2 })
    upstream.setFaults('model-b', { streamCutAfterChunks: 2 })
    const second = await router.stream('group', prompt)
    const cut = await readAll(second.stream)
    expect(cut.filter((part) => part.type === 'text-delta').length).toBeGreaterThan(0)
    expect(cut.some((part) => part.type === 'error')).toBe(true)
    expect(
      cut.some(
        (part) =>
          part.type === 'finish' && (part as { finishReason?: { unified?: string } }).finishReason?.unified === 'stop',
      ),
    ).toBe(false)
    await router.dispose()
  })

  test("the caller's abort aborts the upstream request", async () => {
    upstream.setFaults('*', { hang: true })
    const router = await routerFor({ timeout: 30 })
    const controller = new AbortController()
    const pending = router.generate('group', prompt, { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(upstream.stats().inFlight).toBe(1)
    controller.abort(new Error('user went away'))
    await expect(pending).rejects.toThrow('user went away')
    await upstream.whenIdle()
    expect(upstream.stats().aborted).toBe(1)
    await router.dispose()
  })

  test('a reload in the middle of traffic fails no request', async () => {
    const directory = writeTree(files({ maxRetries: 0 }))
    const store = await createConfigStore({ directory, env: {}, watch: false })
    const router = new Router({ config: store, healthChecks: false })
    upstream.setFaults('*', { latencyMs: 20 })
    let stop = false
    let failures = 0
    let successes = 0
    const traffic = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          await router.generate('pool', prompt)
          successes++
        } catch {
          failures++
        }
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 150))
    // Replace model-a by model-c, change model-b's timeout, in one reload.
    const file = path.join(directory, 'task-groups/group.toml')
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('"openai:model-a"', '"openai:model-c"').replace('timeout = 5', 'timeout = 6'),
    )
    expect((await store.reload()).status).toBe('applied')
    await new Promise((resolve) => setTimeout(resolve, 250))
    stop = true
    await Promise.all(traffic)
    expect(failures).toBe(0)
    expect(successes).toBeGreaterThan(20)
    expect(upstream.stats().models['model-c']!.arrivals).toBeGreaterThan(0)
    await router.dispose()
    await store.dispose()
  })
})
