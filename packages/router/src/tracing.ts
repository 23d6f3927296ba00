import { createRequire } from 'node:module'
import type { Attributes, Context, Span, Tracer, TracerProvider } from '@opentelemetry/api'
import { MissingPackageError } from '@llmpool/schema'
import type { RouterEvent, RouterEventListener } from './events'
import type { TracerProviderLike } from './router-options'

/*
 * OpenTelemetry spans made from the router's events, so that the routing code knows nothing of tracing and a router
 * without `tracing` pays nothing: no listener, and `@opentelemetry/api` is never loaded.
 *
 * Names follow the OpenTelemetry semantic conventions for generative AI as of semantic-conventions v1.41.0 (status
 * "Development": they may still change; this file is the one place that spells them). `llmpool.*` are our own.
 */

type OpenTelemetryApi = typeof import('@opentelemetry/api')

/** What an instance key (`task_group.echelon/provider:model`, `#N` for the Nth API key) says. */
interface InstanceName {
  group: string
  echelon: string
  provider: string
  model: string
}

const INSTANCE_KEY = /^([^/]*)\.([^./]*)\/([^:]*):(.*?)(?:#\d+)?$/

function instanceName(key: string): InstanceName {
  const match = INSTANCE_KEY.exec(key)
  if (!match) return { group: '', echelon: '', provider: '', model: key }
  return { group: match[1]!, echelon: match[2]!, provider: match[3]!, model: match[4]! }
}

/** One traced request: its span, and the spans of its upstream calls still open. */
interface RequestTrace {
  span: Span
  /** The request span's context: the parent of the calls' spans. */
  context: Context
  operation: string
  stream: boolean
  /** Calls in flight by instance key (a request never calls one instance twice at once). */
  calls: Map<string, Span>
  fallbacks: number
  retries: number
  hedges: number
  /** A fallback was just reported: the next call is made because of it. */
  fallingBack: boolean
  /** The instance that answered (streams: whose stream the caller reads). */
  answered: string | undefined
  /** The provider of the last call made, for a request that no call answered. */
  lastProvider: string | undefined
  /** The request span has ended; the trace is forgotten once its calls' spans have ended too. */
  ended: boolean
}

/** Longest error message kept as a span's status description. */
const MAX_DESCRIPTION = 500

/**
 * Turns router events into spans. A request is a span `{operation} {entry}` (kind INTERNAL), a child of the context
 * active when the caller called `generate` or `stream` (`request_start` is emitted synchronously within that call);
 * each upstream call is a span `{operation} {model}` (kind CLIENT), a child of the request's. A stream's spans end
 * when the stream does (`stream_end`), not when `stream()` returns. Token counts are on the calls' spans only (the
 * ones that used them), so that a backend summing `gen_ai.usage.*` over spans counts them once.
 */
class RouterTracing {
  private readonly requests = new Map<number, RequestTrace>()

  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly tracer: Tracer,
    /** False while every span would be a non-recording one (see `sdkRegistered`): requests are not looked at. */
    private readonly recording: () => boolean,
  ) {}

  record(event: RouterEvent): void {
    switch (event.type) {
      case 'request_start':
        return this.requestStart(event)
      case 'attempt_start':
        return this.callStart(event)
      case 'attempt_end':
        return this.callEnd(event)
      case 'stream_end':
        return this.streamEnd(event)
      case 'request_end':
        return this.requestEnd(event)
      case 'fallback': {
        const trace = this.requests.get(event.requestId)
        if (trace) {
          trace.fallbacks++
          trace.fallingBack = true
        }
        return
      }
      case 'retry': {
        const trace = this.requests.get(event.requestId)
        if (trace) trace.retries++
        return
      }
      case 'hedge': {
        const trace = this.requests.get(event.requestId)
        if (trace) trace.hedges++
        return
      }
      case 'cooldown': {
        // The call that put its instance to rest (a cooldown from another process belongs to no request here).
        const span =
          event.requestId === undefined ? undefined : this.requests.get(event.requestId)?.calls.get(event.instance)
        if (!span) return
        span.setAttribute('llmpool.cooldown', event.kind)
        span.addEvent('llmpool.cooldown', {
          'llmpool.cooldown.kind': event.kind,
          'llmpool.cooldown.duration_ms': event.durationMs,
          'llmpool.cooldown.reason': event.reason,
        })
        return
      }
      case 'rate_limited': {
        // Waiting for capacity is time in the request span that no call accounts for.
        this.requests.get(event.requestId)?.span.addEvent('llmpool.rate_limited', {
          'llmpool.target': event.target,
          'llmpool.retry_after_ms': event.retryAfterMs,
        })
        return
      }
      default:
        return
    }
  }

  private requestStart(event: RouterEvent & { type: 'request_start' }): void {
    if (!this.recording()) return
    const { api } = this
    const operation = event.operation ?? 'chat'
    const attributes: Attributes = {
      'gen_ai.operation.name': operation,
      // What the caller asked for: the wrapper, pool or task group; the model that answered is `gen_ai.response.model`.
      'gen_ai.request.model': event.entry,
      'llmpool.entry': event.entry,
      'llmpool.target': event.target,
    }
    if (event.stream) attributes['gen_ai.request.stream'] = true
    const parent = api.context.active()
    const span = this.tracer.startSpan(
      `${operation} ${event.entry}`,
      { kind: api.SpanKind.INTERNAL, attributes },
      parent,
    )
    // Not sampled (or no SDK registered): nothing to record for this request, nor for its calls.
    if (!span.isRecording()) return
    this.requests.set(event.requestId, {
      span,
      context: api.trace.setSpan(parent, span),
      operation,
      stream: event.stream,
      calls: new Map(),
      fallbacks: 0,
      retries: 0,
      hedges: 0,
      fallingBack: false,
      answered: undefined,
      lastProvider: undefined,
      ended: false,
    })
  }

  private callStart(event: RouterEvent & { type: 'attempt_start' }): void {
    const trace = this.requests.get(event.requestId)
    if (!trace) return
    const instance = instanceName(event.instance)
    const operation = event.operation ?? trace.operation
    const attributes: Attributes = {
      'gen_ai.operation.name': operation,
      'gen_ai.request.model': instance.model,
      'gen_ai.provider.name': instance.provider,
      'llmpool.instance': event.instance,
      'llmpool.task_group': instance.group,
      'llmpool.echelon': instance.echelon,
      // This call's place in the request: its retry number on the instance, a hedge, reached by a fallback.
      'llmpool.retry': event.retry,
      'llmpool.hedge': event.hedge === true,
      'llmpool.fallback': trace.fallingBack,
    }
    if (event.pool !== undefined) attributes['llmpool.pool'] = event.pool
    if (trace.stream) attributes['gen_ai.request.stream'] = true
    trace.fallingBack = false
    trace.lastProvider = instance.provider
    trace.calls.set(
      event.instance,
      this.tracer.startSpan(
        `${operation} ${instance.model}`,
        { kind: this.api.SpanKind.CLIENT, attributes },
        trace.context,
      ),
    )
  }

  private callEnd(event: RouterEvent & { type: 'attempt_end' }): void {
    const trace = this.requests.get(event.requestId)
    const span = trace?.calls.get(event.instance)
    if (!trace || !span) return
    setUsage(span, event.inputTokens, event.outputTokens)
    if (event.timeToFirstTokenMs !== undefined)
      span.setAttribute('gen_ai.response.time_to_first_chunk', event.timeToFirstTokenMs / 1000)
    // A stream's call goes on while the caller reads: its span ends with the stream.
    if (event.ok && trace.stream) return
    if (event.cancelled) span.setAttribute('llmpool.cancelled', true)
    else if (!event.ok) this.fail(span, event.error?.kind ?? 'unknown', event.error?.message)
    span.end()
    trace.calls.delete(event.instance)
    this.forgetIfDone(event.requestId, trace)
  }

  private requestEnd(event: RouterEvent & { type: 'request_end' }): void {
    const trace = this.requests.get(event.requestId)
    if (!trace) return
    const { span } = trace
    span.setAttributes({
      'llmpool.attempts': event.attempts,
      'llmpool.fallback': trace.fallbacks,
      'llmpool.retry': trace.retries,
      'llmpool.hedge': trace.hedges,
    })
    if (event.cached) span.setAttribute('llmpool.cached', true)
    if (event.ok && event.instance !== undefined) {
      const instance = instanceName(event.instance)
      trace.answered = event.instance
      span.setAttributes({
        'gen_ai.response.model': instance.model,
        'gen_ai.provider.name': instance.provider,
        'llmpool.instance': event.instance,
        'llmpool.echelon': instance.echelon,
      })
      // The caller reads the stream from now on: the request ends with it.
      if (trace.stream && !event.cached) return
    } else if (!event.ok) {
      if (trace.lastProvider !== undefined) span.setAttribute('gen_ai.provider.name', trace.lastProvider)
      this.fail(span, event.error ?? 'error')
    }
    this.endRequest(event.requestId, trace)
  }

  private streamEnd(event: RouterEvent & { type: 'stream_end' }): void {
    const trace = this.requests.get(event.requestId)
    if (!trace) return
    const call = trace.calls.get(event.instance)
    if (call) {
      setUsage(call, event.inputTokens, event.outputTokens)
      if (!event.ok) this.fail(call, event.error?.kind ?? 'unknown', event.error?.message)
      call.end()
      trace.calls.delete(event.instance)
    }
    if (event.cancelled) trace.span.setAttribute('llmpool.cancelled', true)
    if (!event.ok) this.fail(trace.span, event.error?.kind ?? 'unknown', event.error?.message)
    // Any other call of a stream still open (a hedge that also answered) ends with it.
    for (const other of trace.calls.values()) other.end()
    trace.calls.clear()
    this.endRequest(event.requestId, trace)
  }

  /** `error.type` is the router's error code for a request, the failure kind for a call. */
  private fail(span: Span, type: string, message?: string): void {
    span.setAttribute('error.type', type)
    span.setStatus({
      code: this.api.SpanStatusCode.ERROR,
      message: message === undefined ? type : message.slice(0, MAX_DESCRIPTION),
    })
  }

  private endRequest(requestId: number, trace: RequestTrace): void {
    trace.span.end()
    trace.ended = true
    this.forgetIfDone(requestId, trace)
  }

  /** Calls cancelled when another answered report after the request ended: the trace waits for them. */
  private forgetIfDone(requestId: number, trace: RequestTrace): void {
    if (trace.ended && trace.calls.size === 0) this.requests.delete(requestId)
  }
}

function setUsage(span: Span, inputTokens: number | undefined, outputTokens: number | undefined): void {
  if (inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', inputTokens)
  if (outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', outputTokens)
}

/**
 * `@opentelemetry/api`, loaded synchronously (the router is made synchronously, and its first request may follow at
 * once). It keeps its state (context manager, tracer provider, propagator) in one global per major version, so this
 * copy and the application's see the same.
 */
function loadApi(): OpenTelemetryApi {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi
  } catch (error) {
    throw new MissingPackageError({
      feature: 'tracing in @llmpool/router',
      packageName: '@opentelemetry/api',
      cause: error,
    })
  }
}

/**
 * Whether an SDK stands behind the global tracer provider. `@opentelemetry/api` alone (the `ai` package depends on
 * it, so most applications have it) makes only non-recording spans: a request then costs no span, no attributes and
 * no context. Asked per request, since an SDK may be registered after the router was made. (The global provider is
 * a proxy whose delegate is a no-op one until an SDK registers; a fresh proxy hands out that same no-op instance. A
 * proxy of another copy of the API hands out its own: then the spans are made, and its SDK decides.)
 */
function sdkRegistered(api: OpenTelemetryApi): () => boolean {
  const noop = new api.ProxyTracerProvider().getDelegate()
  return () => {
    const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown }
    return typeof provider.getDelegate !== 'function' || provider.getDelegate() !== noop
  }
}

/** The listener that traces a router's requests (`tracing: true`: through the global tracer provider). */
export function tracingListener(tracing: true | TracerProviderLike): RouterEventListener {
  const api = loadApi()
  const tracer =
    tracing === true ? api.trace.getTracer('@llmpool/router') : (tracing as TracerProvider).getTracer('@llmpool/router')
  const traces = new RouterTracing(api, tracer, tracing === true ? sdkRegistered(api) : () => true)
  return (event) => traces.record(event)
}
