import type { LanguageModelV3CallOptions, LanguageModelV3GenerateResult, LanguageModelV3StreamResult } from '@ai-sdk/provider'
import type { Breaker, FailureKind } from '@llmpool/breaker'
import type { ConfigStore, ResolvedConfig } from '@llmpool/config'
import { suggestions } from '@llmpool/config'
import { type LimiterBackend, memoryBackend } from '@llmpool/limiter'
import { type Clock, type Disposable, systemClock } from '@llmpool/schema'
import { type CacheSettings, ResponseCache } from './cache'
import { CapacityWaiters } from './capacity-waiters'
import { type AttemptRecord, UnknownTargetError } from './errors'
import type { RouterEvent, RouterEventListener } from './events'
import { type ExecutionContext, Executor, type RequestState, type RunAttempt, type Success } from './execute'
import type { InstanceRuntime } from './instance'
import { RouterMetrics } from './metrics'
import { type OpenAIProviderOptions, type ProviderDefinition, ProviderRegistry } from './providers'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry'
import { timeoutError, unref } from './signals'
import { builtInStrategies, type RotationStrategyFactory } from './strategies/index'
import { streamAttempt } from './stream'
import { Topology } from './topology'

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
  /** Default overall deadline of a request (ms), across retries and fallbacks. Default 120 000. */
  requestTimeoutMs?: number
  /** Most upstream calls per request, across retries, instances, echelons and pools. Default 10. */
  attemptBudget?: number
  /** Backoff of retries on one instance. */
  retry?: Partial<RetryPolicy>
  /** Failure kinds retried on the same instance. Default: timeout, rate_limit, network_error, server_error, overloaded. */
  retryOn?: FailureKind[]
  /** Longest silence between two parts of a committed stream (ms). Default 30 000. */
  streamIdleTimeoutMs?: number
  /** Active health probes every pool `health_check.interval`. Default true. */
  healthChecks?: boolean
  /** Response cache (LRU); off by default. The wrappers turn it on from `[global.cache]`. */
  cache?: CacheSettings | false
  /** Collect metrics (see `router.metrics`). Default true. */
  metrics?: boolean
  /**
   * Shares every instance's breaker with other processes, e.g. `await createRedisBreakerGroup({ redis })` of
   * `@llmpool/breaker`: a trip in one replica opens the instance's breaker in all of them.
   */
  breakers?: { add(breaker: Breaker & { readonly clock: Clock }, name?: string): Promise<Disposable> }
  clock?: Clock
  /** A number in [0, 1), for `random`, `weighted` and jitter. Default `Math.random`. */
  random?: () => number
}

export interface RouteOptions {
  /** Overall deadline of this request (ms from now), across retries and fallbacks. */
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
  /** Every upstream call made, in order; the last one succeeded. */
  attempts: readonly AttemptRecord[]
}

export type RoutedGenerateResult = LanguageModelV3GenerateResult & { routing: Routing }
export type RoutedStreamResult = LanguageModelV3StreamResult & { routing: Routing }

export const DEFAULT_RETRY_ON: FailureKind[] = ['timeout', 'rate_limit', 'network_error', 'server_error', 'overloaded']

/** State of one instance, for the admin view. */
export interface InstanceState {
  key: string
  group: string
  echelon: string
  model: string
  inFlight: number
  draining: boolean
  breaker: ReturnType<InstanceRuntime['breaker']['toJSON']>
  health: ReturnType<InstanceRuntime['health']['toJSON']>
  limits: unknown
}

/** A non-streaming attempt: the model's answer as it is (one function for every request, no closure per call). */
const generateAttempt: RunAttempt<LanguageModelV3GenerateResult> = async (_instance, model, upstreamCall) => ({ value: await model.doGenerate(upstreamCall) })
const runGenerate = () => generateAttempt

/**
 * Routes LLM calls to pools and task groups: picks an instance by rotation, skips the unhealthy, the open and the
 * saturated, retries, falls back, and bounds everything by deadlines. See docs/routing.md.
 */
export class Router {
  private topology: Topology
  private readonly executor: Executor
  private readonly listeners = new Set<RouterEventListener>()
  private readonly clock: Clock
  private readonly limits: LimiterBackend
  private readonly ownsLimits: boolean
  private readonly providers: ProviderRegistry
  private readonly strategies: Record<string, RotationStrategyFactory>
  private readonly probes = new Map<InstanceRuntime, unknown>()
  private readonly subscription: Disposable | undefined
  private readonly breakerSubscriptions = new Map<InstanceRuntime, Disposable>()
  private readonly sharedBreakers = new Map<InstanceRuntime, Promise<Disposable | undefined>>()
  private requestIds = 0
  private disposed = false
  private readonly cache: ResponseCache | undefined
  /** Per instance, pool and task group; `metrics.snapshot()`. Undefined when `metrics: false`. */
  readonly metrics: RouterMetrics | undefined

  constructor(private readonly options: RouterOptions) {
    this.clock = options.clock ?? systemClock
    this.ownsLimits = options.limits === undefined
    this.limits = options.limits ?? memoryBackend({ clock: this.clock })
    this.providers = new ProviderRegistry(options.providers, options.openai)
    this.strategies = { ...builtInStrategies, ...options.strategies }
    const requestTimeoutMs = options.requestTimeoutMs ?? 120_000
    const attemptBudget = options.attemptBudget ?? 10
    if (!(requestTimeoutMs > 0)) throw new RangeError(`requestTimeoutMs must be > 0 (got ${requestTimeoutMs})`)
    if (!(Number.isInteger(attemptBudget) && attemptBudget >= 1)) throw new RangeError(`attemptBudget must be an integer ≥ 1 (got ${attemptBudget})`)
    const waiters = new CapacityWaiters(this.clock)
    const context: ExecutionContext = {
      clock: this.clock,
      random: options.random ?? Math.random,
      emit: (event) => this.emit(event),
      waiters,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      retryOn: new Set(options.retryOn ?? DEFAULT_RETRY_ON),
      attemptBudget,
      released: (instance) => {
        waiters.notify()
        if (instance.draining && instance.inFlight === 0) this.retire(instance)
      },
    }
    this.executor = new Executor(context)
    this.cache = options.cache ? new ResponseCache(options.cache, this.clock) : undefined
    if (options.metrics !== false) {
      const metrics = new RouterMetrics(this.clock, (kind, name) => {
        const day = 86_400_000
        if (kind === 'instance') return { intervalMs: 60_000, retentionMs: day }
        if (kind === 'pool') {
          const pool = this.topology.pools.get(name)?.config.metrics
          return pool?.enabled === false ? undefined : { intervalMs: (pool?.interval ?? 60) * 1000, retentionMs: (pool?.retention_period ?? 86_400) * 1000 }
        }
        const group = this.topology.groups.get(name)?.config.metrics
        return group?.enabled === false ? undefined : { intervalMs: (group?.collection_interval ?? 60) * 1000, retentionMs: day }
      })
      const kindOf = (target: string) => (this.topology.pools.has(target) ? 'pool' : this.topology.groups.has(target) ? 'group' : undefined)
      this.listeners.add((event) => metrics.record(event, kindOf))
      this.metrics = metrics
    }
    const store = 'current' in options.config ? options.config : undefined
    this.topology = this.build(store ? store.current : (options.config as ResolvedConfig), undefined)
    this.subscription = store?.subscribe((next) => {
      this.topology = this.build(next, this.topology)
    })
  }

  /** The configuration in force. */
  get config(): ResolvedConfig {
    return this.topology.config
  }

  /** A non-streaming call to a pool or task group. */
  async generate(target: string, call: LanguageModelV3CallOptions, options: RouteOptions = {}): Promise<RoutedGenerateResult> {
    const cacheKey = this.cache && options.cache !== false ? this.cache.key(target, 'generate', call) : undefined
    const cached = cacheKey ? this.cache!.getGenerate(cacheKey) : undefined
    if (cached) {
      this.cachedRequest(target, cached.instance, false)
      return { ...cached.value, routing: { instance: cached.instance, attempts: [] }, providerMetadata: { ...cached.value.providerMetadata, llmpool: { instance: cached.instance, attempts: 0, cached: true } } }
    }
    const { value, routing } = await this.route(target, call, options, false, runGenerate)
    if (cacheKey) this.cache!.setGenerate(cacheKey, value, routing.instance)
    return Object.assign({}, value, {
      routing,
      providerMetadata: Object.assign({}, value.providerMetadata, { llmpool: { instance: routing.instance, attempts: routing.attempts.length } }),
    })
  }

  private cachedRequest(target: string, instance: string, stream: boolean): void {
    const requestId = ++this.requestIds
    const at = this.clock.now()
    this.emit({ type: 'request_start', at, requestId, target, stream })
    this.emit({ type: 'request_end', at, requestId, target, durationMs: 0, ok: true, instance, attempts: 0, cached: true })
  }

  /**
   * A streaming call. Fails over to another instance until the first content part; after it, a failure is an
   * `error` part of the stream (never a clean finish).
   */
  async stream(target: string, call: LanguageModelV3CallOptions, options: RouteOptions = {}): Promise<RoutedStreamResult> {
    const cacheKey = this.cache && options.cache !== false ? this.cache.key(target, 'stream', call) : undefined
    const cached = cacheKey ? this.cache!.getStream(cacheKey) : undefined
    if (cached) {
      this.cachedRequest(target, cached.instance, true)
      return { stream: cached.stream, routing: { instance: cached.instance, attempts: [] } }
    }
    const { value, routing } = await this.route(target, call, options, true, (requestId) =>
      streamAttempt({ clock: this.clock, idleTimeoutMs: this.options.streamIdleTimeoutMs ?? 30_000, emit: (event) => this.emit(event), requestId, target }),
    )
    const stream = cacheKey ? this.cache!.teeStream(cacheKey, value.stream, routing.instance) : value.stream
    return Object.assign({}, value, { stream, routing })
  }

  private async route<T>(
    target: string,
    call: LanguageModelV3CallOptions,
    options: RouteOptions,
    stream: boolean,
    runFor: (requestId: number) => RunAttempt<T>,
  ): Promise<{ value: T; routing: Routing }> {
    if (this.disposed) throw new Error('the router is disposed')
    const topology = this.topology // the request keeps the configuration it started with
    const pool = topology.pools.get(target)
    if (!pool && !topology.groups.has(target)) {
      const names = [...topology.pools.keys(), ...topology.groups.keys()]
      const found = suggestions(target, names, 3)
      throw new UnknownTargetError(target, found.length > 0 ? ` (did you mean ${found.map((name) => `"${name}"`).join(', ')}?)` : '')
    }
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 120_000
    const started = this.clock.now()
    const deadline = started + timeoutMs
    const id = ++this.requestIds
    const request: RequestState = {
      id,
      target,
      call,
      signal: options.signal ?? call.abortSignal,
      deadline,
      timeoutMs,
      attempts: [],
      budget: this.options.attemptBudget ?? 10,
      ticket: undefined,
    }
    this.emit({ type: 'request_start', at: started, requestId: id, target, stream })
    let success: Success<T> | undefined
    try {
      const run = runFor(id)
      success = pool ? await this.executor.pool(request, topology, pool, run) : await this.executor.group(request, topology, target, run)
      return { value: success.value, routing: { instance: success.instance.key, attempts: request.attempts } }
    } catch (error) {
      this.emit({
        type: 'request_end',
        at: this.clock.now(),
        requestId: id,
        target,
        durationMs: this.clock.now() - started,
        ok: false,
        attempts: request.attempts.length,
        error: (error as { code?: string }).code ?? (error as Error)?.name ?? 'error',
      })
      throw error
    } finally {
      if (success) {
        this.emit({ type: 'request_end', at: this.clock.now(), requestId: id, target, durationMs: this.clock.now() - started, ok: true, instance: success.instance.key, attempts: request.attempts.length })
      }
    }
  }

  /** Listens to every router event (attempts, retries, fallbacks, breaker and health changes, rate limiting). */
  on(listener: RouterEventListener): Disposable {
    this.listeners.add(listener)
    return { dispose: () => void this.listeners.delete(listener) }
  }

  private emit(event: RouterEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's bug must not break routing.
      }
    }
  }

  /** Names the router routes to. */
  targets(): { pools: string[]; taskGroups: string[] } {
    return { pools: [...this.topology.pools.keys()], taskGroups: [...this.topology.groups.keys()] }
  }

  /** Every instance's breaker, health, limits and calls in flight. */
  async state(): Promise<{ instances: InstanceState[]; pools: { name: string; limits: unknown }[] }> {
    const instances = await Promise.all(
      [...this.topology.instances.values()].map(async (instance) => ({
        key: instance.key,
        group: instance.config.group,
        echelon: instance.config.echelon,
        model: instance.config.model,
        inFlight: instance.inFlight,
        draining: instance.draining,
        breaker: instance.breaker.toJSON(),
        health: instance.health.toJSON(),
        limits: instance.limiter ? await instance.limiter.state() : undefined,
      })),
    )
    const pools = await Promise.all([...this.topology.pools.values()].map(async (pool) => ({ name: pool.name, limits: pool.limiter ? await pool.limiter.state() : undefined })))
    return { instances, pools }
  }

  private build(config: ResolvedConfig, previous: Topology | undefined): Topology {
    const topology = new Topology(config, previous, {
      providers: this.providers,
      limits: this.limits,
      clock: this.clock,
      strategies: this.strategies,
      onHealthChange: (instance, healthy, reason) =>
        this.emit({ type: 'health_change', at: this.clock.now(), instance: instance.key, healthy, reason }),
    })
    for (const instance of topology.instances.values()) {
      if (this.breakerSubscriptions.has(instance)) continue
      this.breakerSubscriptions.set(
        instance,
        instance.breaker.onStateChange((change) =>
          this.emit({ type: 'breaker_change', at: change.at, instance: instance.key, from: change.from, to: change.to, reason: change.reason }),
        ),
      )
      this.startProbe(instance)
      if (this.options.breakers)
        this.sharedBreakers.set(
          instance,
          this.options.breakers.add(instance.breaker as Breaker & { readonly clock: Clock }, instance.key).catch(() => undefined),
        )
    }
    for (const instance of topology.retired) if (instance.inFlight === 0) this.retire(instance)
    return topology
  }

  /** Active health: one probe per instance, every `interval`, however many pools contain it. */
  private startProbe(instance: InstanceRuntime): void {
    const interval = instance.config.health.intervalMs
    if (this.options.healthChecks === false || interval === undefined || !Number.isFinite(interval)) return
    const schedule = () => {
      const timer = this.clock.setTimeout(async () => {
        if (this.disposed || instance.draining) return
        const controller = new AbortController()
        const timeout = this.clock.setTimeout(() => controller.abort(timeoutError('health probe timed out')), Math.min(interval, 10_000))
        try {
          const probing = instance.probe(controller.signal)
          if (probing) {
            await probing
            instance.health.success()
          }
        } catch (error) {
          instance.health.failure(`probe: ${error instanceof Error ? error.message : String(error)}`)
        } finally {
          this.clock.clearTimeout(timeout)
          if (!this.disposed && !instance.draining) schedule()
        }
      }, interval)
      unref(timer)
      this.probes.set(instance, timer)
    }
    schedule()
  }

  private retire(instance: InstanceRuntime): void {
    this.clock.clearTimeout(this.probes.get(instance))
    this.probes.delete(instance)
    this.breakerSubscriptions.get(instance)?.dispose()
    this.breakerSubscriptions.delete(instance)
    void this.sharedBreakers.get(instance)?.then((sharing) => sharing?.dispose())
    this.sharedBreakers.delete(instance)
    void instance.limiter?.dispose()
    ;(instance.breaker as Partial<Disposable>).dispose?.()
  }

  /** Stops probes and the reload subscription; disposes the limiter backend if the router made it. */
  async dispose(): Promise<void> {
    this.disposed = true
    this.subscription?.dispose()
    for (const timer of this.probes.values()) this.clock.clearTimeout(timer)
    this.probes.clear()
    for (const subscription of this.breakerSubscriptions.values()) subscription.dispose()
    this.breakerSubscriptions.clear()
    for (const sharing of this.sharedBreakers.values()) (await sharing)?.dispose()
    this.sharedBreakers.clear()
    if (this.ownsLimits) await this.limits.dispose()
  }
}
