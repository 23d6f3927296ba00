/** The gateway continues the caller's trace (W3C traceparent): the router's spans join it. Real HTTP, mock upstream. */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
let gateway: Gateway
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })

// What an application with an OpenTelemetry SDK has registered: a context manager and the W3C propagator.
beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: { ...FAST_ROUTER, tracing: provider },
  })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
  context.disable()
  propagation.disable()
})
beforeEach(() => {
  upstream.clearFaults()
  exporter.reset()
})

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'

function chat(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'main_group', messages: [{ role: 'user', content: 'hello' }], ...body }),
  })
}

const requestSpans = () => exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.INTERNAL)
const callSpans = () => exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT)

describe('tracing through the gateway', () => {
  test("a request with a traceparent: the router's spans are in that trace, under the caller's span", async () => {
    const response = await chat({}, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=value' })
    expect(response.status).toBe(200)
    await response.json()
    const request = requestSpans()[0]!
    expect(request.name).toBe('chat main_group')
    expect(request.spanContext().traceId).toBe(TRACE_ID)
    expect(request.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true })
    expect(request.spanContext().traceState?.get('vendor')).toBe('value')
    const call = callSpans()[0]!
    expect(call.spanContext().traceId).toBe(TRACE_ID)
    expect(call.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    expect(call.attributes).toMatchObject({ 'gen_ai.provider.name': 'openai', 'llmpool.task_group': 'main_group' })
  })

  test("a streamed request: its span ends with the stream, in the caller's trace", async () => {
    const response = await chat(
      { stream: true, stream_options: { include_usage: true } },
      { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    )
    expect(await response.text()).toContain('data: [DONE]')
    const request = requestSpans()[0]!
    expect(request.spanContext().traceId).toBe(TRACE_ID)
    expect(request.attributes).toMatchObject({ 'gen_ai.request.stream': true })
    expect(request.attributes['llmpool.cancelled']).toBeUndefined()
    expect(callSpans()[0]!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0)
  })

  test('a request without a traceparent starts a trace of its own', async () => {
    const response = await chat({})
    await response.json()
    const request = requestSpans()[0]!
    expect(request.parentSpanContext).toBeUndefined()
    expect(request.spanContext().traceId).not.toBe(TRACE_ID)
  })
})
