/** `router.embed` over real HTTP, through the AI SDK embedding models, against the fault-injecting mock upstream. */
import { loadConfig } from '@llmpool/config'
import { createMockUpstream, type MockUpstream, mockEmbedding } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import {
  EmbeddingsUnsupportedError,
  InvalidRequestError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  Router,
  type RouterEvent,
} from '../src/index'
import { configDirectory } from './helpers'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

interface Settings {
  models?: string[]
  maxRetries?: number
  breakerThreshold?: number
  rpm?: number
  timeout?: number
  /** A second echelon (a fallback) with these models. */
  fallbackModels?: string[]
  /** Failure kinds retried on the same instance (default: the files' `retry_on_errors`, which leaves out 5xx). */
  retryOn?: ('server_error' | 'timeout')[]
}

async function routerFor(settings: Settings = {}) {
  const models = (settings.models ?? ['openai:embed-a', 'openai:embed-b']).map((model) => `"${model}"`).join(', ')
  const echelon = (name: string, list: string, priority: number) => `
[task_group.echelons.${name}]
models = [${list}]
priority = ${priority}
timeout = ${settings.timeout ?? 5}
max_retries = ${settings.maxRetries ?? 0}
${settings.rpm !== undefined ? `rpm_limit = ${settings.rpm}` : ''}
api_key = "test-key"
base_url = "${upstream.url}/v1"
`
  const directory = configDirectory({
    '_registry.toml':
      '[pools]\nvectors = { file = "pools/vectors.toml" }\n[task_groups]\nembedders = { file = "task-groups/embedders.toml" }\n',
    'pools/vectors.toml':
      '[pool]\nname = "vectors"\ntask_groups = ["embedders"]\n[pool.fallback]\nmax_instance_attempts = 3\n',
    'task-groups/embedders.toml': `
[task_group]
name = "embedders"
[task_group.circuit_breaker]
failure_threshold = ${settings.breakerThreshold ?? 3}
recovery_time = 60
[task_group.fallback]
max_attempts = 3
retry_delay = 0
${echelon('main', models, 1)}
${settings.fallbackModels ? echelon('backup', settings.fallbackModels.map((model) => `"${model}"`).join(', '), 2) : ''}
`,
  })
  const config = await loadConfig({ directory, env: {} })
  const router = new Router({
    config,
    healthChecks: false,
    retry: { baseDelayMs: 5, maxRetryDelayMs: 2_000 },
    ...(settings.retryOn ? { retryOn: settings.retryOn } : {}),
  })
  const events: RouterEvent[] = []
  router.on((event) => events.push(event))
  return { router, events }
}

const modelOf = (instance: string) => instance.slice(instance.indexOf(':') + 1)

describe('router.embed', () => {
  test('embeds a batch in one upstream call, rotating over the instances, and says so in its events', async () => {
    const { router, events } = await routerFor()
    const first = await router.embed('vectors', { values: ['red', 'green', 'blue'] })
    const second = await router.embed('vectors', { values: ['red'] })
    expect(modelOf(first.routing.instance)).not.toBe(modelOf(second.routing.instance))
    for (const result of [first, second]) {
      const model = modelOf(result.routing.instance)
      const texts = result === first ? ['red', 'green', 'blue'] : ['red']
      expect(result.embeddings).toEqual(texts.map((text) => mockEmbedding(model, text)))
      expect(result.providerMetadata?.llmpool).toEqual({ instance: result.routing.instance, attempts: 1 })
    }
    expect(first.usage).toEqual({ tokens: 4 }) // the mock counts ceil(characters / 4) per input
    // One request per call: the upstream saw two, each the whole batch, as floats.
    const seen = upstream.requests()
    expect(seen.map((request) => [request.path, (request.body as { input: string[] }).input])).toEqual([
      ['/v1/embeddings', ['red', 'green', 'blue']],
      ['/v1/embeddings', ['red']],
    ])
    const ofFirst = events.filter(
      (event) => 'requestId' in event && event.requestId === events.find((e) => e.type === 'request_start')!.requestId,
    )
    expect(ofFirst.map((event) => [event.type, (event as { operation?: string }).operation])).toEqual([
      ['request_start', 'embeddings'],
      ['attempt_start', 'embeddings'],
      ['attempt_end', 'embeddings'],
      ['request_end', 'embeddings'],
    ])
    expect(ofFirst.find((event) => event.type === 'attempt_end')).toMatchObject({ ok: true, inputTokens: 4 })
    await router.dispose()
  })

  test('a 5xx falls over to the other instance, and enough of them open its breaker', async () => {
    upstream.setFaults('embed-a', { status: 500 })
    const { router } = await routerFor({ breakerThreshold: 2 })
    const results = await Promise.all(Array.from({ length: 8 }, () => router.embed('vectors', { values: ['x'] })))
    expect(results.every((result) => modelOf(result.routing.instance) === 'embed-b')).toBe(true)
    const state = await router.state()
    expect(state.instances.find((instance) => instance.model === 'openai:embed-a')?.breaker.state).toBe('open')
    const before = upstream.stats().models['embed-a']!.arrivals
    await router.embed('vectors', { values: ['x'] })
    expect(upstream.stats().models['embed-a']!.arrivals).toBe(before)
    await router.dispose()
  })

  test('the echelon’s max_retries retries the same instance, then the next echelon takes over', async () => {
    upstream.setFaults('embed-a', { status: 500 })
    const { router } = await routerFor({
      models: ['openai:embed-a'],
      fallbackModels: ['openai:embed-c'],
      maxRetries: 1,
      retryOn: ['server_error'],
    })
    const result = await router.embed('embedders', { values: ['x'] })
    expect(
      result.routing.attempts.map((attempt) => [
        modelOf(attempt.instance),
        attempt.retry,
        attempt.error?.statusCode ?? 'ok',
      ]),
    ).toEqual([
      ['embed-a', 0, 500],
      ['embed-a', 1, 500],
      ['embed-c', 0, 'ok'],
    ])
    expect(result.embeddings).toEqual([mockEmbedding('embed-c', 'x')])
    await router.dispose()
  })

  test('a 429 with retry-after rests the instance: the next calls go to the other one', async () => {
    upstream.setFaults('embed-a', { status: 429, retryAfter: 30, times: 1 })
    const { router, events } = await routerFor()
    const results = []
    for (let i = 0; i < 4; i++) results.push(await router.embed('vectors', { values: [`v${i}`] }))
    expect(results.every((result) => modelOf(result.routing.instance) === 'embed-b')).toBe(true)
    expect(events.find((event) => event.type === 'cooldown')).toMatchObject({
      instance: 'embedders.main/openai:embed-a',
      kind: 'rate_limit',
      durationMs: 30_000,
    })
    expect(upstream.stats().models['embed-a']!.arrivals).toBe(1)
    await router.dispose()
  })

  test('an input the upstream refuses (400) fails at once and counts against no instance', async () => {
    const { router } = await routerFor({ breakerThreshold: 1 })
    for (let i = 0; i < 4; i++) {
      const error = await router.embed('vectors', { values: [''] }).catch((caught: unknown) => caught)
      expect(RequestRejectedError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ kind: 'bad_request', statusCode: 400 })
      expect((error as RequestRejectedError).attempts).toHaveLength(1)
    }
    const state = await router.state()
    expect(state.instances.map((instance) => [instance.breaker.state, instance.cooldown])).toEqual([
      ['closed', undefined],
      ['closed', undefined],
    ])
    expect(upstream.stats().failed).toBe(4)
    expect((await router.embed('vectors', { values: ['fine'] })).embeddings).toHaveLength(1)
    await router.dispose()
  })

  test('rpm_limit counts one request per call, whatever the batch size: the upstream sees no more', async () => {
    const { router } = await routerFor({ rpm: 2 })
    const batch = Array.from({ length: 50 }, (_, index) => `text ${index}`)
    const results = await Promise.all(Array.from({ length: 4 }, () => router.embed('vectors', { values: batch })))
    expect(results.every((result) => result.embeddings.length === 50)).toBe(true)
    const refused = await router
      .embed('vectors', { values: ['one more'] }, { timeoutMs: 200 })
      .catch((error: unknown) => error)
    expect(RateLimitedError.isInstance(refused)).toBe(true)
    expect(upstream.stats().models['embed-a']!.arrivals).toBe(2)
    expect(upstream.stats().models['embed-b']!.arrivals).toBe(2)
    await router.dispose()
  })

  test('a batch larger than the models take is refused before any call; the limit is readable', async () => {
    const { router } = await routerFor()
    expect(await router.maxEmbeddingsPerCall('vectors')).toBe(2048)
    const error = await router
      .embed('vectors', { values: Array.from({ length: 2049 }, () => 'x') })
      .catch((caught: unknown) => caught)
    expect(InvalidRequestError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/2048/)
    expect(upstream.stats().arrivals).toBe(0)
    await router.dispose()
  })

  test('a target with an instance whose provider cannot embed is refused with a typed error', async () => {
    const { router } = await routerFor({ models: ['openai:embed-a', 'anthropic:claude-x'] })
    const error = await router.embed('vectors', { values: ['x'] }).catch((caught: unknown) => caught)
    expect(EmbeddingsUnsupportedError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'embeddings_unsupported', instances: ['embedders.main/anthropic:claude-x'] })
    await expect(router.maxEmbeddingsPerCall('vectors')).rejects.toThrow(/has no embedding models/)
    expect(upstream.stats().arrivals).toBe(0)
    await router.dispose()
  })

  test("the caller's abort and the deadline end the upstream request", async () => {
    upstream.setFaults('*', { hang: true })
    const { router } = await routerFor({ models: ['openai:embed-a'], timeout: 30 })
    const controller = new AbortController()
    const pending = router.embed('vectors', { values: ['x'], abortSignal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 100))
    controller.abort(new Error('user went away'))
    await expect(pending).rejects.toThrow('user went away')
    await expect(router.embed('vectors', { values: ['x'] }, { timeoutMs: 150 })).rejects.toSatisfy((error: unknown) =>
      RequestTimeoutError.isInstance(error),
    )
    await upstream.whenIdle()
    expect(upstream.stats().aborted).toBe(2)
    const state = await router.state()
    expect(state.instances[0]!.breaker.state).toBe('closed')
    await router.dispose()
  })
})
