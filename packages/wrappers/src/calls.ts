import type { LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider'
import type { EntryPlan, RoutedGenerateResult, RoutedStreamResult, Router, RouteOptions } from '@llmpool/router'
import { UnknownWrapperError } from './errors'
import { type Loggers, type PoolLogger, REDACTED, requestRecord } from './logging'
import { applyToolSettings, timeoutOf } from './settings'

/** `wrapper`: only a wrapper of the wrapper files; `any`: a wrapper, pool or task group. */
export type NameKind = 'wrapper' | 'any'

/** Options of one call through `pool.generate` / `pool.stream`, besides the call itself. */
export interface PoolCallOptions {
  /** Cancels the request and its upstream calls. */
  signal?: AbortSignal
  /** This request's deadline (ms), instead of the entry's. */
  timeoutMs?: number
  /** false: neither read nor fill the response cache. */
  cache?: boolean
  /** Which names are accepted. Default `any`. */
  kind?: NameKind
}

function withoutOwnOptions(call: LanguageModelV3CallOptions): LanguageModelV3CallOptions {
  if (!call.providerOptions?.llmpool) return call
  const { llmpool: _own, ...providerOptions } = call.providerOptions
  return { ...call, providerOptions }
}

function textOf(content: readonly { type: string; text?: string }[]): string {
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('')
}

function errorRecord(error: unknown) {
  return { name: (error as Error)?.name, code: (error as { code?: string })?.code, message: (error as Error)?.message }
}

/**
 * What every call through a pool does, whatever door it came in by (an AI SDK model of `pool.model()`, or the
 * gateway): look the name up in the plan in force, apply its tool policy, log the request and the response as its
 * `[global.logging]` says, and route it with its deadline, retries and cache.
 */
export class PoolCalls {
  constructor(
    private readonly router: Router,
    private readonly loggers: () => Loggers | undefined,
    private readonly redactContent: boolean,
  ) {}

  /** The plan of a name in force now; `UnknownWrapperError` when it is not one (of the kind asked). */
  entry(name: string, kind: NameKind = 'any'): EntryPlan {
    const entry = this.router.plan.entries.get(name)
    if (entry && (kind === 'any' || entry.kind === 'wrapper')) return entry
    const names = [...this.router.plan.entries.values()]
      .filter((candidate) => kind === 'any' || candidate.kind === 'wrapper')
      .map((candidate) => candidate.name)
    throw new UnknownWrapperError(name, names, kind === 'wrapper' ? 'wrapper' : 'wrapper, pool or task group')
  }

  private prepare(name: string, given: LanguageModelV3CallOptions, options: PoolCallOptions, stream: boolean) {
    const entry = this.entry(name, options.kind)
    const call = withoutOwnOptions(applyToolSettings(given, entry))
    const { logging } = entry.services
    const logger: PoolLogger | undefined =
      logging.requests || logging.responses ? this.loggers()?.of(logging) : undefined
    const base = logger ? { wrapper: name, target: entry.target, stream } : undefined
    const started = logger ? Date.now() : 0
    if (logger && logging.requests)
      logger.info({ ...base, request: requestRecord(call, this.redactContent) }, 'llmpool request')
    const route: RouteOptions = {}
    const timeoutMs = options.timeoutMs ?? timeoutOf(given)
    if (timeoutMs !== undefined) route.timeoutMs = timeoutMs
    const signal = options.signal ?? given.abortSignal
    if (signal) route.signal = signal
    if (options.cache === false) route.cache = false
    return {
      call,
      route,
      logResponse:
        logger && logging.responses
          ? (response: Record<string, unknown>) =>
              logger.info({ ...base, durationMs: Date.now() - started, response }, 'llmpool response')
          : undefined,
      logFailure: logger
        ? (error: unknown) =>
            logger.warn(
              { ...base, durationMs: Date.now() - started, error: errorRecord(error) },
              'llmpool request failed',
            )
        : undefined,
    }
  }

  /** A non-streaming call to a wrapper, pool or task group. */
  generate(
    name: string,
    given: LanguageModelV3CallOptions,
    options: PoolCallOptions = {},
  ): Promise<RoutedGenerateResult> {
    let prepared: ReturnType<typeof this.prepare>
    try {
      prepared = this.prepare(name, given, options, false)
    } catch (error) {
      return Promise.reject(error)
    }
    // Nothing to log: the router's promise as it is, without an async frame around it (one per request).
    if (!prepared.logResponse && !prepared.logFailure) return this.router.generate(name, prepared.call, prepared.route)
    return this.generateLogged(name, prepared)
  }

  private async generateLogged(
    name: string,
    { call, route, logResponse, logFailure }: ReturnType<typeof this.prepare>,
  ): Promise<RoutedGenerateResult> {
    try {
      const result = await this.router.generate(name, call, route)
      logResponse?.({
        instance: result.routing.instance,
        attempts: result.routing.attempts.length,
        finishReason: result.finishReason.unified,
        usage: { inputTokens: result.usage.inputTokens.total, outputTokens: result.usage.outputTokens.total },
        toolCalls: result.content.filter((part) => part.type === 'tool-call').map((part) => part.toolName),
        text: this.redactContent ? REDACTED : textOf(result.content),
      })
      return result
    } catch (error) {
      logFailure?.(error)
      throw error
    }
  }

  /**
   * A streaming call. The stream's `finish` part carries `providerMetadata.llmpool` (`instance`, `attempts`: the
   * router puts it there); with response logging on, the answer is logged when the stream finishes. Without response
   * or failure logging the router's stream is returned as it is: piping every stream through a TransformStream costs
   * more than the rest of a streamed request's routing (docs/decisions/0009).
   */
  async stream(
    name: string,
    given: LanguageModelV3CallOptions,
    options: PoolCallOptions = {},
  ): Promise<RoutedStreamResult> {
    const { call, route, logResponse, logFailure } = this.prepare(name, given, options, true)
    let routed: RoutedStreamResult
    try {
      routed = await this.router.stream(name, call, route)
    } catch (error) {
      logFailure?.(error)
      throw error
    }
    if (!logResponse && !logFailure) return routed
    const { routing, stream } = routed
    const attempts = routing.attempts.length
    let text = ''
    const redact = this.redactContent
    const logged = stream.pipeThrough(
      new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform(part, controller) {
          if (logResponse && part.type === 'text-delta') text += part.delta
          if (part.type === 'error') logFailure?.(part.error)
          if (part.type === 'finish') {
            logResponse?.({
              instance: routing.instance,
              attempts,
              finishReason: part.finishReason.unified,
              usage: { inputTokens: part.usage.inputTokens.total, outputTokens: part.usage.outputTokens.total },
              text: redact ? REDACTED : text,
            })
          }
          controller.enqueue(part)
        },
      }),
    )
    return Object.assign({}, routed, { stream: logged })
  }
}
