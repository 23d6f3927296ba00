/** `POST /v1/embeddings` through the official openai client, pass-through and through the AI SDK, against the mock upstream. */
import { createMockUpstream, type MockUpstream, mockEmbedding } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { embeddingsAnswerModel } from '../src/pass-through-embeddings'
import { FAST_ROUTER, writeConfiguration } from './helpers'

let upstream: MockUpstream
let directory: string

const echelon = (name: string, models: string, priority: number, extra = '') => `
[task_group.echelons.${name}]
models = [${models}]
priority = ${priority}
max_retries = 0
api_key = "sk-test-key"
base_url = "\${MOCK_URL}"
${extra}
`

beforeAll(async () => {
  upstream = await createMockUpstream()
  directory = writeConfiguration(
    {
      '_registry.toml': `
[pools]
vectors = { file = "pools/vectors.toml" }
[task_groups]
embedders = { file = "task-groups/embedders.toml" }
chatty = { file = "task-groups/chatty.toml" }
[wrappers]
vector_wrappers = { file = "wrappers/vector-wrappers.toml" }
[global]
enable_hot_reload = false
`,
      'pools/vectors.toml':
        '[pool]\nname = "vectors"\ntask_groups = ["embedders"]\n[pool.fallback]\nmax_instance_attempts = 3\n',
      // Two embedding models taking turns, 3 requests a minute each; an OpenAI one behind them.
      'task-groups/embedders.toml': `
[task_group]
name = "embedders"
[task_group.circuit_breaker]
failure_threshold = 2
recovery_time = 60
[task_group.fallback]
max_attempts = 3
retry_delay = 0
${echelon('main', '"mock:embed-a", "mock:embed-b"', 1, 'rpm_limit = 3')}
${echelon('backup', '"openai:embed-backup"', 2)}
`,
      'task-groups/chatty.toml': `[task_group]\nname = "chatty"\n${echelon('main', '"anthropic:claude-x"', 1)}`,
      'wrappers/vector-wrappers.toml': '[wrappers]\nvectors_wrapper = { type = "pool", pool_name = "vectors" }\n',
    },
    'embeddings',
  )
})
afterAll(() => upstream.close())

const modelOf = (instance: string | null) => String(instance).slice(String(instance).indexOf(':') + 1)

describe.each([
  ['pass-through', true],
  ['through the AI SDK', false],
] as const)('POST /v1/embeddings (%s)', (_mode, passThrough) => {
  let gateway: Gateway
  const accessLines: Record<string, unknown>[] = []
  const client = () => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 })

  beforeEach(async () => {
    upstream.clearFaults()
    upstream.reset()
    accessLines.length = 0
    // A gateway per test: the rpm windows of one test must not carry into the next.
    gateway = await startGateway({
      config: directory,
      env: { MOCK_URL: upstream.url },
      router: FAST_ROUTER,
      passThrough,
      accessLog: { logger: { info: (line) => void accessLines.push(line as Record<string, unknown>) } },
    })
  })
  afterEach(() => gateway.close())

  test('a batch (base64, as the client asks by default) comes back in OpenAI’s shape, with the routing headers', async () => {
    const { data: result, response } = await client()
      .embeddings.create({ model: 'vectors_wrapper', input: ['red', 'green'] })
      .withResponse()
    const instance = response.headers.get('x-llmpool-instance')
    expect(instance).toMatch(/^embedders\.main\/mock:embed-[ab]$/)
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')
    expect(result).toMatchObject({
      object: 'list',
      model: 'vectors_wrapper',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    })
    expect(result.data.map((item) => [item.object, item.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ])
    expect(result.data.map((item) => item.embedding)).toEqual([
      mockEmbedding(modelOf(instance), 'red'),
      mockEmbedding(modelOf(instance), 'green'),
    ])
    // One upstream request for the batch.
    expect(
      upstream.requests().map((request) => [request.model, request.path, (request.body as { input: string[] }).input]),
    ).toEqual([[modelOf(instance), '/v1/embeddings', ['red', 'green']]])
    // The pass-through forwards the client's body (base64 asked); the AI SDK asks for floats and encodes them itself.
    expect((upstream.requests()[0]!.body as { encoding_format: string }).encoding_format).toBe(
      passThrough ? 'base64' : 'float',
    )
    await gateway.close()
    expect(accessLines).toEqual([
      expect.objectContaining({
        path: '/v1/embeddings',
        target: 'vectors_wrapper',
        instance,
        attempts: 1,
        fallbacks: 0,
        inputTokens: 3,
        status: 200,
      }),
    ])
  })

  test('float vectors, dimensions passed through; pools and task groups by their own names; calls take turns', async () => {
    const instances: string[] = []
    for (const model of ['vectors', 'vectors', 'embedders']) {
      const { data: result, response } = await client()
        .embeddings.create({ model, input: 'sky', encoding_format: 'float', dimensions: 4 })
        .withResponse()
      instances.push(response.headers.get('x-llmpool-instance')!)
      expect(result.model).toBe(model)
      expect(result.data[0]!.embedding).toEqual(mockEmbedding(modelOf(instances.at(-1)!), 'sky', 4))
    }
    // The pool's calls take turns (a task group called by its name has its own turns).
    expect(new Set(instances.slice(0, 2).map(modelOf))).toEqual(new Set(['embed-a', 'embed-b']))
    expect(upstream.requests().map((request) => request.body)).toEqual([
      expect.objectContaining({ input: passThrough ? 'sky' : ['sky'], dimensions: 4, encoding_format: 'float' }),
      expect.objectContaining({ dimensions: 4 }),
      expect.objectContaining({ dimensions: 4 }),
    ])
  })

  test('rpm_limit: the upstream sees 3 requests a minute per instance; then the backup echelon (an openai instance) serves', async () => {
    const served: string[] = []
    for (let i = 0; i < 7; i++) {
      const { response } = await client()
        .embeddings.create({ model: 'vectors', input: `text ${i}` })
        .withResponse()
      served.push(modelOf(response.headers.get('x-llmpool-instance')))
    }
    const stats = upstream.stats().models
    expect([stats['embed-a']?.arrivals, stats['embed-b']?.arrivals, stats['embed-backup']?.arrivals]).toEqual([3, 3, 1])
    expect(served[6]).toBe('embed-backup')
  })

  test('an instance answering 5xx: every request still succeeds; its breaker opens and it gets no more', async () => {
    upstream.setFaults('embed-a', { status: 500 })
    const served = []
    for (let i = 0; i < 3; i++) {
      const { response } = await client()
        .embeddings.create({ model: 'vectors', input: `v${i}` })
        .withResponse()
      served.push(modelOf(response.headers.get('x-llmpool-instance')))
    }
    expect(served.filter((model) => model === 'embed-a')).toEqual([])
    const state = await gateway.router.state()
    expect(state.instances.find((instance) => instance.key.endsWith('embed-a'))?.breaker.state).toBe('open')
  })

  test('a 429 with retry-after rests the instance: it gets nothing until then', async () => {
    upstream.setFaults('embed-a', { status: 429, retryAfter: 20, times: 1 })
    for (let i = 0; i < 3; i++) await client().embeddings.create({ model: 'vectors', input: `v${i}` })
    expect(upstream.stats().models['embed-a']?.arrivals).toBe(1)
    const state = await gateway.router.state()
    expect(state.instances.find((instance) => instance.key.endsWith('embed-a'))?.cooldown).toMatchObject({
      kind: 'rate_limit',
    })
  })

  test('a bad input is a 400, and no breaker opens however often it comes', async () => {
    for (let i = 0; i < 4; i++) {
      const error = await client()
        .embeddings.create({ model: 'vectors', input: '' })
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('request_rejected')
    }
    const state = await gateway.router.state()
    expect(
      state.instances.every((instance) => instance.breaker.state === 'closed' && instance.cooldown === undefined),
    ).toBe(true)
    expect(upstream.stats()).toMatchObject({ arrivals: 4, failed: 4 })
  })

  test('what the gateway refuses itself: token arrays, a bad shape, an unknown name, a target that cannot embed', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const error = (await client()
        .embeddings.create(body as never)
        .catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>
      return [error.status, error.code, error.param]
    }
    expect(await refused({ model: 'vectors', input: [1, 2, 3] })).toEqual([400, 'unsupported_input', 'input'])
    expect(await refused({ model: 'vectors', input: [[1], [2]] })).toEqual([400, 'unsupported_input', 'input'])
    expect(await refused({ model: 'vectors', input: 7 })).toEqual([400, 'invalid_value', 'input'])
    expect(await refused({ model: 'vectors', input: 'x', encoding_format: 'hex' })).toEqual([
      400,
      'invalid_value',
      'encoding_format',
    ])
    expect(await refused({ model: 'nope', input: 'x' })).toEqual([404, 'model_not_found', 'model'])
    expect(await refused({ model: 'chatty', input: 'x' })).toEqual([400, 'embeddings_unsupported', 'model'])
    expect(upstream.stats().arrivals).toBe(0)
  })
})

test('the top-level model of an embeddings answer is found after the vectors, and only there', () => {
  const text =
    '{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAA\\"model\\":"}],"model":"m-1","usage":{}}'
  expect(embeddingsAnswerModel(text)).toEqual([text.indexOf('"m-1"'), text.indexOf('"m-1"') + 5])
  expect(embeddingsAnswerModel('{"data":[{"model":"nested"}]}')).toBeUndefined()
})
