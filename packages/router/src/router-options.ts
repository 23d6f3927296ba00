import type { LanguageModelV3GenerateResult, LanguageModelV3StreamResult } from '@ai-sdk/provider'
import type { Breaker, FailureKind } from '@llmpool/breaker'
import type { ConfigStore, ResolvedConfig } from '@llmpool/config'
import type { LimiterBackend } from '@llmpool/limiter'
import type { Clock, Disposable } from '@llmpool/schema'
import type { CacheSettings } from './cache'
import type { AttemptRecord } from './errors'
import type { OpenAIProviderOptions, ProviderDefinition } from './providers'
import type { RetryPolicy } from './retry'
import type { CooldownState } from './runtime/cooldown'
import type { CooldownSharing } from './runtime/cooldown-sharing'
import type { InstanceRuntime } from './runtime/instance'
import type { RotationStrategyFactory } from './strategies/index'

export interface RouterOptions {
  /** A resolved configuration, or a `ConfigStore` whose reloads the router follows. */
  config: ResolvedConfig | ConfigStore
  /** Where limits live. Default: an embedded memory backend. Pass `redisBackend()` to share limits across processes. */
  limits?: LimiterBackend
  /** Your own providers by name (`mycloud:model-x`), or replacements of the built-in `openai` and `anthropic`. */
  providers?: Record<string, ProviderDefinition>
  /** Options of the built-in `openai` provider (Chat Completions by default; `{ api: 'responses' }`). */
  openai?: OpenAIProviderOptions
  /** Your own rotation strategies by name, or replacements of the built-in ones. */
  strategies?: Record<string, RotationStrategyFactory>
  /**
   * The overall deadline of every request (ms), across retries and fallbacks. Default: per entry, the wrappers
   * file's `[global] request_timeout`, else room to walk its chain once (see `router.plan`).
   */
  requestTimeoutMs?: number
  /** Most upstream calls of one request, across retries, instances, echelons, pools and hedges. Default: per entry, every call its rules allow. */
  attemptBudget?: number
  /** Backoff of retries on one instance. Default: the `[global] error_handling` of each entry. */
  retry?: Partial<RetryPolicy>
  /** Failure kinds retried on the same instance. Default: each entry's `retry_on_errors`. */
  retryOn?: readonly FailureKind[]
  /** Longest silence between two parts of a committed stream (ms). Default 30 000. */
  streamIdleTimeoutMs?: number
  /** Active health probes every pool `health_check.interval`. Default true. */
  healthChecks?: boolean
  /** The response cache of every entry; `false`: none. Default: each entry's `[global.cache]`. */
  cache?: CacheSettings | false
  /** Collect metrics (see `router.metrics`). Default true; an entry whose `[global] enable_metrics = false` is not counted. */
  metrics?: boolean
  /**
   * OpenTelemetry spans: one per request, and under it one per upstream call, with the GenAI semantic conventions
   * (see the README, "Tracing"). `true`: through the global tracer provider; a `TracerProvider`: through it. Needs the
   * optional package `@opentelemetry/api`. Default false: nothing is loaded, and the router does no tracing work.
   */
  tracing?: boolean | TracerProviderLike
  /**
   * Shares every instance's breaker with other processes, e.g. `await createRedisBreakerGroup({ redis })` of
   * `@llmpool/breaker`: a trip in one replica opens the instance's breaker in all of them.
   */
  breakers?: { add(breaker: Breaker & { readonly clock: Clock }, name?: string): Promise<Disposable> }
  /** Shares cooldowns with other processes: one replica's 429 rests the instance in all of them. */
  cooldowns?: CooldownSharing
  clock?: Clock
  /** A number in [0, 1), for `random`, `weighted` and jitter. Default `Math.random`. */
  random?: () => number
}

/**
 * An OpenTelemetry `TracerProvider` of `@opentelemetry/api`, typed here by the one method the router calls, so that
 * the router's types do not need that optional package.
 */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): object
}

export interface RouteOptions {
  /** Overall deadline of this request (ms from now), across retries and fallbacks; wins over the entry's. */
  timeoutMs?: number
  /** Cancels the request and everything it has in flight, the upstream HTTP request included. */
  signal?: AbortSignal
  /** false: neither read nor fill the response cache for this request. */
  cache?: boolean
}

/** Where a routed call went. Also in `providerMetadata.llmpool` of the result. */
export interface Routing {
  /** The instance that answered: `task_group.echelon/provider:model`. */
  instance: string
  /** Every upstream call made, in order; the last successful one answered. */
  attempts: readonly AttemptRecord[]
}

export type RoutedGenerateResult = LanguageModelV3GenerateResult & { routing: Routing }
export type RoutedStreamResult = LanguageModelV3StreamResult & { routing: Routing }

/** State of one instance, for the admin view. */
export interface InstanceState {
  key: string
  group: string
  echelon: string
  model: string
  inFlight: number
  draining: boolean
  breaker: ReturnType<Breaker['toJSON']>
  health: ReturnType<InstanceRuntime['health']['toJSON']>
  /** Undefined unless the instance rests after a 429, a 529 or a refused key. */
  cooldown: CooldownState | undefined
  limits: unknown
}
