/** Task-group wrapper [global]: function_calling_enabled and tool_selection_strategy; default_timeout. */
import { RequestTimeoutError } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { generateText, stepCountIs, streamText, tool } from 'ai'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { FunctionCallingDisabledError, type LLMPool } from '../src/index'
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
  upstream.reset()
})

const tools = {
  weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, sky: 'sunny' }) }),
}
const toolChoices = () =>
  upstream.requests('model-fast').map((request) => (request.body as { tool_choice?: unknown }).tool_choice)

describe('function_calling_enabled = false', () => {
  test('a request with tools fails with FunctionCallingDisabledError before reaching an upstream', async () => {
    const failing = generateText({ model: pool.wrapper('no_tools_group_wrapper'), tools, prompt: 'hello' })
    await expect(failing).rejects.toThrow(
      /wrapper "no_tools_group_wrapper" has function_calling_enabled = false, but the request offers tools \(weather\)/,
    )
    const error = await failing.catch((caught: unknown) => caught)
    expect(FunctionCallingDisabledError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'function_calling_disabled', toolNames: ['weather'] })
    expect(upstream.stats().arrivals).toBe(0)
  })

  test('a request without tools goes through', async () => {
    expect((await generateText({ model: pool.wrapper('no_tools_group_wrapper'), prompt: 'hi' })).text).toBe(
      'mock reply from model-fast: hi',
    )
  })
})

describe('tool_selection_strategy', () => {
  test('auto: toolChoice as the caller gave it (auto when unset)', async () => {
    await generateText({ model: pool.wrapper('auto_group_wrapper'), tools, prompt: 'hello' })
    await generateText({ model: pool.wrapper('auto_group_wrapper'), tools, toolChoice: 'none', prompt: 'hello' })
    expect(toolChoices()).toEqual(['auto', 'none'])
  })

  test('manual: the model never picks a tool on its own; an explicit choice is used as given', async () => {
    await generateText({ model: pool.wrapper('manual_group_wrapper'), tools, prompt: 'hello' })
    await generateText({ model: pool.wrapper('manual_group_wrapper'), tools, toolChoice: 'auto', prompt: 'hello' })
    await generateText({
      model: pool.wrapper('manual_group_wrapper'),
      tools,
      toolChoice: { type: 'tool', toolName: 'weather' },
      stopWhen: stepCountIs(1),
      prompt: 'call tool weather {"city":"Oslo"}',
    })
    expect(toolChoices()).toEqual(['none', 'none', { type: 'function', function: { name: 'weather' } }])
  })

  test('priority: required while the turn ends with a user message, auto once tool results are back', async () => {
    const result = await generateText({
      model: pool.wrapper('priority_group_wrapper'),
      tools,
      stopWhen: stepCountIs(3),
      prompt: 'call tool weather {"city":"Rome"}',
    })
    expect(result.text).toContain('mock reply from model-fast')
    expect(toolChoices()).toEqual(['required', 'auto'])
    await generateText({ model: pool.wrapper('priority_group_wrapper'), tools, toolChoice: 'none', prompt: 'hello' })
    expect(toolChoices()[2]).toBe('none')
  })

  test('pool wrappers and names without a task-group [global] pass toolChoice through', async () => {
    await generateText({ model: pool.wrapper('fast_pool_wrapper'), tools, prompt: 'hello' })
    await generateText({ model: pool.model('fast_group'), tools, prompt: 'hello' })
    expect(toolChoices()).toEqual(['auto', 'auto'])
  })
})

describe('default_timeout and the request deadline', () => {
  test('default_timeout (1 s) bounds each attempt of an echelon without its own timeout; the deadline (2 s) leaves room for the retry', async () => {
    upstream.setFaults('model-fast', { hang: true })
    const started = Date.now()
    const error = await generateText({
      model: pool.wrapper('fast_pool_wrapper'),
      prompt: 'hello',
      maxRetries: 0,
    }).catch((caught: unknown) => caught)
    const elapsed = Date.now() - started
    expect(RequestTimeoutError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'request_timeout', timeoutMs: 2000 })
    const attempts = (error as RequestTimeoutError).attempts
    expect(attempts[0]).toMatchObject({
      instance: 'fast_group.main/mock:model-fast',
      retry: 0,
      error: { kind: 'timeout' },
    })
    expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(950)
    expect(attempts[0]!.durationMs).toBeLessThan(1500)
    expect(attempts[1]).toMatchObject({ retry: 1 })
    expect(elapsed).toBeGreaterThanOrEqual(1900)
    expect(elapsed).toBeLessThan(4000)
    await upstream.whenIdle()
    expect(upstream.stats().models['model-fast']?.aborted).toBe(2)
  })

  test("the call's abortSignal cancels sooner; providerOptions.llmpool.timeoutMs replaces the request deadline", async () => {
    upstream.setFaults('model-fast', { hang: true })
    let started = Date.now()
    await expect(
      generateText({
        model: pool.wrapper('fast_pool_wrapper'),
        prompt: 'x',
        maxRetries: 0,
        abortSignal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(900)
    started = Date.now()
    const error = await generateText({
      model: pool.wrapper('fast_pool_wrapper'),
      prompt: 'x',
      maxRetries: 0,
      providerOptions: { llmpool: { timeoutMs: 300 } },
    }).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'request_timeout', timeoutMs: 300 })
    expect(Date.now() - started).toBeLessThan(900)
  })

  test('streams too: the first content must come within the attempt timeout', async () => {
    upstream.setFaults('model-fast', { hang: true })
    const errors: unknown[] = []
    const result = streamText({
      model: pool.wrapper('fast_pool_wrapper'),
      prompt: 'x',
      onError: ({ error }) => void errors.push(error),
    })
    await result.consumeStream()
    expect(errors[0]).toMatchObject({ code: 'request_timeout' })
  })
})
