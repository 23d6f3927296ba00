import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'

type OpenTelemetryApi = typeof import('@opentelemetry/api')
type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>

/**
 * `@opentelemetry/api` when it is installed and tracing is not turned off (`router.tracing: false`); undefined
 * otherwise, and then the gateway does no tracing work at all. Its presence is the switch: whoever preloads an
 * OpenTelemetry SDK (`node --import @opentelemetry/auto-instrumentations-node/register`) has it installed.
 */
export function loadOpenTelemetry(tracing: unknown): OpenTelemetryApi | undefined {
  if (tracing === false) return undefined
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') return undefined
    throw error
  }
}

/**
 * The request handler, run within the trace the request belongs to: the one its `traceparent` / `tracestate`
 * headers carry (as read by the propagator the application registered: W3C trace context by default), so that the
 * router's spans join the caller's trace. When an HTTP instrumentation has already made a server span for the
 * request, that span is the parent (it read the headers itself). Without OpenTelemetry: the handler itself.
 */
export function continueTraces(handler: Handler, api: OpenTelemetryApi | undefined): Handler {
  if (!api) return handler
  const { context, propagation, trace } = api
  return (request, response) => {
    const active = context.active()
    if (trace.getSpan(active) !== undefined) return handler(request, response)
    return context.with(propagation.extract(active, request.headers), handler, undefined, request, response)
  }
}
