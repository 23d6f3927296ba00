/** OpenTelemetry spans of routed requests (`tracing`), over real HTTP against the mock upstream. */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { context, ProxyTracer, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { loadConfig } from '@llmpool/config'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { Router, type RouterOptions } from '../src/index'
import { prompt } from './helpers'

let upstream: MockUpstream
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(async () => {
  upstream = await createMockUpstream()
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(async () => {
  context.disable()
  trace.disable()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
  exporter.reset()
})

/** Task group `group`: echelon e1 calls model-a, e2 calls model-b; a failure of a falls back to b. */
function configDirectory(): string {
  const files: Record<string, string> = {
    '_registry.toml': '[task_groups]\ngroup = { file = "task-groups/group.toml" }\n',
    'task-groups/group.toml': `
[task_group]
name = "group"
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.e1]
models = ["openai:model-a"]
max_retries = 0
api_key = "test-key"
base_url = "${upstream.url}/v1"
[task_group.echelons.e2]
models = ["openai:model-b"]
max_retries = 0
api_key = "test-key"
base_url = "${upstream.url}/v1"
`,
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-router-tracing-'))
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
    writeFileSync(path.join(directory, file), text)
  }
  return directory
}

async function routerFor(options: Partial<RouterOptions> = {}): Promise<Router> {
  const config = await loadConfig({ directory: configDirectory(), env: {} })
  return new Router({ config, healthChecks: false, tracing: provider, ...options })
}

const spans = () => exporter.getFinishedSpans()
const requestSpans = () => spans().filter((span) => span.kind === SpanKind.INTERNAL)
const callSpans = () => spans().filter((span) => span.kind === SpanKind.CLIENT)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

async function readAll(stream: ReadableStream<{ type: string }>): Promise<{ type: string }[]> {
  const parts: { type: string }[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

describe('tracing', () => {
  test('a request that falls back: one request span, a child span per call, the failed one with its error.type', async () => {
    upstream.setFaults('model-a', { status: 500 })
    const router = await routerFor()
    const result = await router.generate('group', prompt)
    expect(result.routing.instance).toBe('group.e2/openai:model-b')

    expect(requestSpans()).toHaveLength(1)
    const request = requestSpans()[0]!
    expect(request.name).toBe('chat group')
    expect(request.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'group',
      'gen_ai.response.model': 'model-b',
      'gen_ai.provider.name': 'openai',
      'llmpool.entry': 'group',
      'llmpool.target': 'group',
      'llmpool.instance': 'group.e2/openai:model-b',
      'llmpool.echelon': 'e2',
      'llmpool.attempts': 2,
      'llmpool.fallback': 1,
      'llmpool.retry': 0,
    })
    // Tokens are counted on the call that used them, once.
    expect(request.attributes['gen_ai.usage.input_tokens']).toBeUndefined()
    expect(request.status.code).toBe(SpanStatusCode.UNSET)

    const [failed, answered] = callSpans().sort(
      (a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + (a.startTime[1] - b.startTime[1]),
    )
    expect(callSpans()).toHaveLength(2)
    expect(
      callSpans().every(
        (span) =>
          parentOf(span) === request.spanContext().spanId &&
          span.spanContext().traceId === request.spanContext().traceId,
      ),
    ).toBe(true)

    expect(failed!.name).toBe('chat model-a')
    expect(failed!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'model-a',
      'gen_ai.provider.name': 'openai',
      'error.type': 'server_error',
      'llmpool.instance': 'group.e1/openai:model-a',
      'llmpool.echelon': 'e1',
      'llmpool.retry': 0,
      'llmpool.hedge': false,
      'llmpool.fallback': false,
    })
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR)

    expect(answered!.name).toBe('chat model-b')
    expect(answered!.attributes).toMatchObject({
      'gen_ai.request.model': 'model-b',
      'llmpool.echelon': 'e2',
      'llmpool.fallback': true,
    })
    expect(answered!.attributes['error.type']).toBeUndefined()
    expect(answered!.attributes['gen_ai.usage.input_tokens']).toBe(result.usage.inputTokens.total)
    expect(answered!.attributes['gen_ai.usage.output_tokens']).toBe(result.usage.outputTokens.total)
    expect(result.usage.outputTokens.total).toBeGreaterThan(0)
    await router.dispose()
  })

  test("the request span is a child of the caller's active span", async () => {
    const router = await routerFor()
    const caller = provider.getTracer('test')
    const outer = await caller.startActiveSpan('handle user request', async (span) => {
      await router.generate('group', prompt)
      span.end()
      return span
    })
    const request = requestSpans()[0]!
    expect(request.spanContext().traceId).toBe(outer.spanContext().traceId)
    expect(parentOf(request)).toBe(outer.spanContext().spanId)
    // Without an active span, a request starts a trace of its own.
    exporter.reset()
    await router.generate('group', prompt)
    expect(parentOf(requestSpans()[0]!)).toBeUndefined()
    await router.dispose()
  })

  test('a failed request: error.type is the router error code', async () => {
    upstream.setFaults('*', { status: 500 })
    const router = await routerFor()
    await expect(router.generate('group', prompt)).rejects.toThrow()
    const request = requestSpans()[0]!
    expect(request.attributes).toMatchObject({
      'error.type': 'all_attempts_failed',
      'llmpool.attempts': 2,
      'llmpool.fallback': 1,
    })
    expect(request.status.code).toBe(SpanStatusCode.ERROR)
    expect(callSpans().map((span) => span.attributes['error.type'])).toEqual(['server_error', 'server_error'])
    await router.dispose()
  })

  test('a 429 that puts the instance to rest is on the call: llmpool.cooldown and an event', async () => {
    upstream.setFaults('model-a', { status: 429, retryAfter: 30, times: 1 })
    const router = await routerFor()
    await router.generate('group', prompt)
    const rested = callSpans().find((span) => span.name === 'chat model-a')!
    expect(rested.attributes).toMatchObject({ 'error.type': 'rate_limit', 'llmpool.cooldown': 'rate_limit' })
    expect(rested.events.map((event) => event.name)).toEqual(['llmpool.cooldown'])
    expect(rested.events[0]!.attributes).toMatchObject({
      'llmpool.cooldown.kind': 'rate_limit',
      'llmpool.cooldown.duration_ms': 30_000,
    })
    await router.dispose()
  })

  test("a stream's spans end when the stream does, with the tokens", async () => {
    const router = await routerFor()
    const result = await router.stream('group', prompt)
    // stream() has returned: the caller has not read the stream yet, so nothing has ended but failed calls.
    expect(requestSpans()).toHaveLength(0)
    expect(callSpans()).toHaveLength(0)
    const parts = await readAll(result.stream)
    expect(parts.some((part) => part.type === 'finish')).toBe(true)
    const request = requestSpans()[0]!
    expect(request.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.response.model': 'model-a' })
    const call = callSpans()[0]!
    expect(parentOf(call)).toBe(request.spanContext().spanId)
    expect(call.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0)
    expect(call.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0)
    // The request span lasts until the last part was read, not until stream() returned: nothing had ended before
    // readAll (above), both have now. (Their end times are not compared: the SDK anchors each span's clock to
    // Date.now() on its own, so two spans ended in one tick may differ by a millisecond either way.)
    expect(request.ended && call.ended).toBe(true)
    await router.dispose()
  })

  test('a stream the caller cancels ends its spans too, marked cancelled, not failed', async () => {
    upstream.setFaults('*', { latencyMs: 0, chunkDelayMs: 50 })
    const router = await routerFor()
    const result = await router.stream('group', prompt)
    const reader = result.stream.getReader()
    await reader.read()
    await reader.cancel('not interested')
    const request = requestSpans()[0]!
    expect(request.attributes['llmpool.cancelled']).toBe(true)
    expect(request.status.code).toBe(SpanStatusCode.UNSET)
    expect(callSpans()).toHaveLength(1)
    await router.dispose()
  })

  test('an embedding call: operation embeddings, input tokens on the call', async () => {
    const router = await routerFor()
    const result = await router.embed('group', { values: ['hello', 'world'] })
    const request = requestSpans()[0]!
    expect(request.name).toBe('embeddings group')
    expect(request.attributes['gen_ai.operation.name']).toBe('embeddings')
    const call = callSpans()[0]!
    expect(call.name).toBe('embeddings model-a')
    expect(call.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.usage.input_tokens': result.usage?.tokens,
    })
    expect(result.usage?.tokens).toBeGreaterThan(0)
    expect(call.attributes['gen_ai.usage.output_tokens']).toBeUndefined()
    await router.dispose()
  })

  test('tracing: true uses the global tracer provider; without tracing, no span', async () => {
    trace.setGlobalTracerProvider(provider)
    try {
      const untraced = await routerFor({ tracing: undefined })
      await untraced.generate('group', prompt)
      await untraced.dispose()
      expect(spans()).toHaveLength(0)
      const traced = await routerFor({ tracing: true })
      await traced.generate('group', prompt)
      await traced.dispose()
      expect(requestSpans()).toHaveLength(1)
    } finally {
      trace.disable()
    }
  })

  test('tracing: true without an SDK makes no span at all; an SDK registered later is used from its next request', async () => {
    const startSpan = vi.spyOn(ProxyTracer.prototype, 'startSpan')
    try {
      const traced = await routerFor({ tracing: true })
      await traced.generate('group', prompt)
      // Only @opentelemetry/api (as the `ai` package brings it): not even a non-recording span.
      expect(startSpan).not.toHaveBeenCalled()
      trace.setGlobalTracerProvider(provider)
      await traced.generate('group', prompt)
      await traced.dispose()
      expect(startSpan).toHaveBeenCalled()
      expect(requestSpans()).toHaveLength(1)
      expect(callSpans()).toHaveLength(1)
    } finally {
      startSpan.mockRestore()
      trace.disable()
    }
  })

  test('without tracing, @opentelemetry/api is not even loaded', async () => {
    // In a process of its own: this one has loaded the package already. (Asynchronously: it calls our mock upstream.)
    const child = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@llmpool/source',
        path.join(import.meta.dirname, 'tracing-child.ts'),
        configDirectory(),
      ],
      {
        cwd: path.resolve(import.meta.dirname, '../../..'),
        timeout: 60_000,
      },
    )
    expect(child.stderr).toBe('')
    expect(JSON.parse(child.stdout)).toEqual({ withoutTracing: false, withTracing: true })
  })
})
