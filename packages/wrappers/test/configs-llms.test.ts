/** The design document's configuration (configs/llms) through createLLMPool: every wrapper answers. */
import path from 'node:path'
import { anthropicProvider, openAIProvider, type ProviderDefinition } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { generateText } from 'ai'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createLLMPool, type LLMPool } from '../src/index'
import { logCollector } from './helpers'

const directory = path.resolve(import.meta.dirname, '../../../configs/llms')
let upstream: MockUpstream
let pool: LLMPool
const log = logCollector()

beforeAll(async () => {
  upstream = await createMockUpstream()
  // configs/llms names the real providers; point them at the mock upstream, as examples/demo does.
  const toMock = (provider: ProviderDefinition): ProviderDefinition => ({
    createModel: (settings) =>
      provider.createModel({ ...settings, baseURL: `${upstream.url}/v1`, apiKey: 'sk-test-configs-llms' }),
  })
  pool = await createLLMPool({
    configDir: directory,
    env: {},
    watch: false,
    logDestination: log,
    router: {
      healthChecks: false,
      providers: { openai: toMock(openAIProvider()), anthropic: toMock(anthropicProvider()) },
    },
  })
})
afterAll(async () => {
  await pool?.dispose()
  await upstream.close()
})

const designWrappers = [
  'fast_pool_wrapper',
  'thinking_pool_wrapper',
  'plan_pool_wrapper',
  'fast_group_wrapper',
  'thinking_group_wrapper',
  'plan_group_wrapper',
  'execute_group_wrapper',
]

test('every wrapper of the design document is available and answers', async () => {
  expect(pool.names().wrappers).toEqual(designWrappers)
  for (const name of designWrappers) {
    const { text, providerMetadata } = await generateText({ model: pool.wrapper(name), prompt: `hello ${name}` })
    expect(text).toMatch(new RegExp(`^mock reply from [\\w.-]+: hello ${name}$`))
    expect(providerMetadata?.llmpool).toHaveProperty('instance')
  }
})

test("its [global] applies: cache on (ttl 300 s), request logging on (json), the router's retry settings", async () => {
  upstream.reset()
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'cached?' })
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'cached?' })
  expect(upstream.stats().arrivals).toBe(1)
  const requests = log.records().filter((record) => record.msg === 'llmpool request')
  expect(requests.length).toBeGreaterThanOrEqual(designWrappers.length + 2)
  expect(log.records().some((record) => record.msg === 'llmpool response')).toBe(false) // enable_response_logging = false
  expect(log.lines.join('\n')).not.toContain('sk-test-configs-llms')
})
