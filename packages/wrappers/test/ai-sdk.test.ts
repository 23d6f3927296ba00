/** The AI SDK's generateText, streamText, generateObject and tool calling through wrappers, over real HTTP. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { createProviderRegistry, generateObject, generateText, stepCountIs, streamText, tool } from 'ai'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import type { LLMPool } from '../src/index'
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
beforeEach(() => {
  upstream.clearFaults()
  upstream.clearReplies()
  upstream.reset()
})

const weather = (calls: unknown[]) =>
  tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async (input) => {
      calls.push(input)
      return { city: input.city, sky: 'sunny' }
    },
  })

describe.each([
  ['pool.wrapper()', () => pool.wrapper('fast_pool_wrapper')],
  [
    'createProviderRegistry',
    () => createProviderRegistry({ llmpool: pool.provider }).languageModel('llmpool:fast_pool_wrapper'),
  ],
])('through %s', (_how, model) => {
  test('generateText', async () => {
    const result = await generateText({ model: model(), prompt: 'hello there' })
    expect(result.text).toBe('mock reply from model-fast: hello there')
    expect(result.providerMetadata?.llmpool).toMatchObject({ instance: 'fast_group.main/mock:model-fast', attempts: 1 })
    expect(result.response.modelId).toBeDefined()
    expect(upstream.stats().models['model-fast']?.completed).toBe(1)
  })

  test('streamText', async () => {
    const result = streamText({ model: model(), prompt: 'stream me please' })
    const deltas: string[] = []
    for await (const delta of result.textStream) deltas.push(delta)
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join('')).toBe('mock reply from model-fast: stream me please')
    expect((await result.providerMetadata)?.llmpool).toMatchObject({ instance: 'fast_group.main/mock:model-fast' })
    expect(upstream.requests('model-fast')[0]?.stream).toBe(true)
  })

  test('generateObject', async () => {
    upstream.setReply('model-fast', JSON.stringify({ name: 'Ada', languages: ['en', 'fr'] }))
    const { object } = await generateObject({
      model: model(),
      schema: z.object({ name: z.string(), languages: z.array(z.string()) }),
      prompt: 'a person',
    })
    expect(object).toEqual({ name: 'Ada', languages: ['en', 'fr'] })
  })

  test('a tool call: the tool runs, its result goes back, the model answers', async () => {
    const calls: unknown[] = []
    const result = await generateText({
      model: model(),
      tools: { weather: weather(calls) },
      stopWhen: stepCountIs(3),
      prompt: 'call tool weather {"city":"Paris"}',
    })
    expect(calls).toEqual([{ city: 'Paris' }])
    expect(result.steps).toHaveLength(2)
    expect(result.steps[0]?.toolCalls[0]).toMatchObject({ toolName: 'weather', input: { city: 'Paris' } })
    expect(result.text).toContain('mock reply from model-fast')
    expect(upstream.requests('model-fast')[0]?.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'weather' } }],
    })
  })
})

test('pools and task groups are models by their own names, also in the registry', async () => {
  const registry = createProviderRegistry({ llmpool: pool.provider })
  expect((await generateText({ model: pool.model('other_pool'), prompt: 'a' })).text).toBe(
    'mock reply from model-other: a',
  )
  expect((await generateText({ model: registry.languageModel('llmpool:fast_group'), prompt: 'b' })).text).toBe(
    'mock reply from model-fast: b',
  )
  expect((await generateText({ model: pool.model('other_pool_wrapper'), prompt: 'c' })).text).toBe(
    'mock reply from model-other: c',
  )
  expect(pool.names()).toEqual({
    wrappers: [
      'fast_pool_wrapper',
      'other_pool_wrapper',
      'auto_group_wrapper',
      'manual_group_wrapper',
      'priority_group_wrapper',
      'no_tools_group_wrapper',
    ],
    pools: ['fast_pool', 'other_pool'],
    taskGroups: ['fast_group', 'other_group'],
  })
  const model = pool.wrapper('fast_pool_wrapper')
  expect(model).toMatchObject({
    specificationVersion: 'v3',
    provider: 'llmpool',
    modelId: 'fast_pool_wrapper',
    supportedUrls: {},
  })
})

test('an unknown name is an UnknownWrapperError that names what exists', async () => {
  const { UnknownWrapperError } = await import('../src/index')
  expect(() => pool.wrapper('fast_pool')).toThrow(
    /no enabled wrapper is named "fast_pool"; available: "fast_pool_wrapper", "other_pool_wrapper"/,
  )
  let caught: unknown
  try {
    pool.model('fast_poool')
  } catch (error) {
    caught = error
  }
  expect(UnknownWrapperError.isInstance(caught)).toBe(true)
  expect(caught).toMatchObject({ code: 'unknown_wrapper', wrapperName: 'fast_poool' })
  expect((caught as { available: string[] }).available).toContain('fast_pool')
})
