import type { EmbeddingModelV3, EmbeddingModelV3CallOptions, EmbeddingModelV3Result } from '@ai-sdk/provider'
import type { EmbedCall, RoutedEmbedResult, Router, RouteOptions } from '@llmpool/router'
import type { NameKind, PoolCallOptions, PoolCalls } from './calls'
import { type Loggers, REDACTED } from './logging'

/** The call without `providerOptions.llmpool` (the pool's own options: `timeoutMs`), which no upstream should see. */
function withoutOwnOptions(call: EmbeddingModelV3CallOptions): EmbeddingModelV3CallOptions {
  if (!call.providerOptions?.llmpool) return call
  const { llmpool: _own, ...providerOptions } = call.providerOptions
  return { ...call, providerOptions }
}

/**
 * What every embedding call through a pool does, by whichever door (an AI SDK model of `pool.embeddingModel()`, or
 * the gateway): look the name up in the plan in force, log as its `[global.logging]` says (the number of values, not
 * the values, unless content is logged), and route it with its deadline and retries (`router.embed`).
 */
export class PoolEmbeddings {
  constructor(
    private readonly router: Router,
    private readonly calls: PoolCalls,
    private readonly loggers: () => Loggers | undefined,
    private readonly redactContent: boolean,
  ) {}

  /** The most values one call to `name` takes (see `router.maxEmbeddingsPerCall`). */
  maxPerCall(name: string): Promise<number | undefined> {
    return this.router.maxEmbeddingsPerCall(name)
  }

  async embed(name: string, given: EmbedCall, options: PoolCallOptions = {}): Promise<RoutedEmbedResult> {
    const entry = this.calls.entry(name, options.kind)
    const call = withoutOwnOptions(given)
    const route: RouteOptions = {}
    const own = given.providerOptions?.llmpool?.timeoutMs
    const timeoutMs = options.timeoutMs ?? (typeof own === 'number' && own > 0 ? own : undefined)
    if (timeoutMs !== undefined) route.timeoutMs = timeoutMs
    const signal = options.signal ?? given.abortSignal
    if (signal) route.signal = signal
    const { logging } = entry.services
    const logger = logging.requests || logging.responses ? this.loggers()?.of(logging) : undefined
    const base = logger ? { wrapper: name, target: entry.target, operation: 'embeddings' } : undefined
    const started = logger ? Date.now() : 0
    if (logger && logging.requests)
      logger.info(
        { ...base, request: { values: call.values.length, text: this.redactContent ? REDACTED : call.values } },
        'llmpool request',
      )
    try {
      const result = await this.router.embed(name, call, route)
      if (logger && logging.responses) {
        logger.info(
          {
            ...base,
            durationMs: Date.now() - started,
            response: {
              instance: result.routing.instance,
              attempts: result.routing.attempts.length,
              embeddings: result.embeddings.length,
              usage: result.usage,
            },
          },
          'llmpool response',
        )
      }
      return result
    } catch (error) {
      logger?.warn(
        {
          ...base,
          durationMs: Date.now() - started,
          error: {
            name: (error as Error)?.name,
            code: (error as { code?: string })?.code,
            message: (error as Error)?.message,
          },
        },
        'llmpool request failed',
      )
      throw error
    }
  }
}

/**
 * One name as an AI SDK `EmbeddingModelV3`, for `embed` and `embedMany` of package `ai`. The name is looked up in
 * the plan in force on every call (it follows hot reloads). `maxEmbeddingsPerCall` is the smallest of the target's
 * instances' models, so `embedMany` splits a large batch into calls every instance takes (in parallel: each call is
 * routed on its own, and counts as one request against the limits).
 */
export class PoolEmbeddingModel implements EmbeddingModelV3 {
  readonly specificationVersion = 'v3'
  readonly provider = 'llmpool'
  readonly supportsParallelCalls = true

  constructor(
    /** The wrapper, pool or task group name. */
    readonly modelId: string,
    private readonly embeddings: PoolEmbeddings,
    private readonly kind: NameKind,
  ) {}

  /** Read by `embedMany` before it splits; rejects with `EmbeddingsUnsupportedError` for a target that cannot embed. */
  get maxEmbeddingsPerCall(): PromiseLike<number | undefined> {
    const limit = this.embeddings.maxPerCall(this.modelId)
    // Whoever awaits it hears the rejection; a read that is not awaited must not become an unhandled rejection.
    limit.catch(() => undefined)
    return limit
  }

  async doEmbed(options: EmbeddingModelV3CallOptions): Promise<EmbeddingModelV3Result> {
    const { routing: _routing, ...result } = await this.embeddings.embed(this.modelId, options, { kind: this.kind })
    return result
  }
}
