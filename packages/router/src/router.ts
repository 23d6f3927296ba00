import type { LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider'
import type { ResolvedConfig } from '@llmpool/config'
import { didYouMean } from '@llmpool/config'
import { type LimiterBackend, memoryBackend } from '@llmpool/limiter'
import { type Clock, type Disposable, DisposedError, systemClock } from '@llmpool/schema'
import { CapacityWaiters } from './capacity-waiters'
import { type EmbedCall, EmbeddingModels, type RoutedEmbedResult } from './embed'
import { UnknownTargetError } from './errors'
import type { RouterEvent, RouterEventListener } from './events'
import type { ExecutionContext, RequestState, RunAttempt } from './execute/context'
import { execute } from './execute/executor'
import { RouterMetrics } from './metrics'
import { compilePlan, type PlanOverrides } from './plan/compile'
import type { EntryPlan, RoutingPlan } from './plan/types'
import { ProviderRegistry } from './providers'
import type {
  InstanceState,
  RoutedGenerateResult,
  RoutedStreamResult,
  RouteOptions,
  RouterOptions,
  Routing,
} from './router-options'
import { BreakerWiring } from './runtime/breaker-wiring'
import type { InstanceRuntime } from './runtime/instance'
import { Probes } from './runtime/probes'
import { type EntryRuntime, Topology } from './runtime/topology'
import { builtInStrategies, type RotationStrategyFactory } from './strategies/index'
import { type StreamRouting, streamAttempt } from './stream'
import { tracingListener } from './tracing'

/** The language call of an embedding request: none (the embedding attempt makes its own call from `EmbedCall`). */
const NO_LANGUAGE_CALL: LanguageModelV3CallOptions = Object.freeze({ prompt: [] })

/** A non-streaming attempt: the model's answer as it is (one function for every request, no closure per call). */
const generateAttempt: RunAttempt<LanguageModelV3GenerateResult> = async (instance, controls) => {
  const model = instance.readyModel ?? (await instance.getModel())
  return { value: await model.doGenerate(controls.languageCall()) }
}

/**
 * Routes LLM calls to wrappers, pools and task groups: picks an instance by rotation, skips the unhealthy, the open,
 * the resting and the saturated, retries, falls back, hedges, and bounds everything by deadlines — all as the
 * compiled routing plan (`router.plan`) says. See docs/routing.md.
 */
export class Router {
  private topology: Topology
  private readonly context: ExecutionContext
  private readonly listeners = new Set<RouterEventListener>()
  private readonly clock: Clock
  private readonly random: () => number
  private readonly limits: LimiterBackend
  private readonly ownsLimits: boolean
  private readonly providers: ProviderRegistry
  private readonly strategies: Record<string, RotationStrategyFactory>
  private readonly overrides: PlanOverrides
  private readonly probes: Probes
  private readonly subscriptions: Disposable[] = []
  private readonly breakers: BreakerWiring
  private readonly embeddings: EmbeddingModels
  private requestIds = 0
  private disposed = false
  /** Per instance, pool and task group; `metrics.snapshot()`. Undefined when `metrics: false`. */
  readonly metrics: RouterMetrics | undefined

  constructor(private readonly options: RouterOptions) {
    this.clock = options.clock ?? systemClock
    this.random = options.random ?? Math.random
    this.ownsLimits = options.limits === undefined
    this.limits = options.limits ?? memoryBackend({ clock: this.clock })
    this.providers = new ProviderRegistry(options.providers, options.openai)
    this.embeddings = new EmbeddingModels(this.providers)
    this.strategies = { ...builtInStrategies, ...options.strategies }
    if (options.requestTimeoutMs !== undefined && !(options.requestTimeoutMs > 0))
      throw new RangeError(`requestTimeoutMs must be > 0 (got ${options.requestTimeoutMs})`)
    if (options.attemptBudget !== undefined && !(Number.isInteger(options.attemptBudget) && options.attemptBudget >= 1))
      throw new RangeError(`attemptBudget must be an integer ≥ 1 (got ${options.attemptBudget})`)
    this.overrides = {
      requestTimeoutMs: options.requestTimeoutMs,
      attemptBudget: options.attemptBudget,
      retry: options.retry,
      retryOn: options.retryOn,
      cache: options.cache,
      metrics: options.metrics === false ? false : undefined,
    }
    const waiters = new CapacityWaiters(this.clock)
    this.context = {
      clock: this.clock,
      random: this.random,
      emit: (event) => this.emit(event),
      waiters,
      released: (instance) => {
        waiters.notify()
        if (instance.draining && instance.inFlight === 0) this.retire(instance)
      },
      rested: (instance, cooldown) =>
        options.cooldowns?.publish({
          instance: instance.plan.shareKey,
          remainingMs: cooldown.ms,
          kind: cooldown.kind,
          reason: cooldown.reason,
        }),
    }
    this.probes = new Probes(this.clock, options.healthChecks !== false)
    this.breakers = new BreakerWiring((event) => this.emit(event), options.breakers)
    if (options.metrics !== false) {
      const day = 86_400_000
      const metrics = new RouterMetrics(this.clock, (kind, name) => {
        if (kind === 'instance') return { intervalMs: 60_000, retentionMs: day }
        if (kind === 'pool') {
          const pool = this.topology.plan.pools.get(name)?.metrics
          return pool?.enabled === false
            ? undefined
            : { intervalMs: pool?.intervalMs ?? 60_000, retentionMs: pool?.retentionMs ?? day }
        }
        const group = this.topology.config.task_groups[name]?.metrics
        return group?.enabled === false
          ? undefined
          : { intervalMs: (group?.collection_interval ?? 60) * 1000, retentionMs: day }
      })
      const kindOf = (target: string, entry: string) => {
        if (this.topology.entries.get(entry)?.plan.services.metrics === false) return undefined
        return this.topology.plan.pools.has(target)
          ? 'pool'
          : Object.hasOwn(this.topology.config.task_groups, target)
            ? 'group'
            : undefined
      }
      this.listeners.add((event) => metrics.record(event, kindOf))
      this.metrics = metrics
    }
    // Spans are made from the events: without `tracing`, no listener, and @opentelemetry/api is never loaded.
    if (options.tracing) this.listeners.add(tracingListener(options.tracing))
    const store = 'current' in options.config ? options.config : undefined
    this.topology = this.build(store ? store.current : (options.config as ResolvedConfig), undefined)
    if (store) this.subscriptions.push(store.subscribe((next) => (this.topology = this.build(next, this.topology))))
    if (options.cooldowns) {
      this.subscriptions.push(
        options.cooldowns.subscribe((cooldown) =>
          this.applyRemoteCooldown(cooldown.instance, cooldown.remainingMs, cooldown.kind, cooldown.reason),
        ),
      )
    }
  }

  /** The configuration in force. */
  get config(): ResolvedConfig {
    return this.topology.config
  }

  /** The compiled routing plan in force: what every entry does, with the source of each value. */
  get plan(): RoutingPlan {
    return this.topology.plan
  }

  /** The plan of one wrapper, pool or task group; throws `UnknownTargetError` for another name. */
  entry(name: string): EntryPlan {
    return this.entryRuntime(name).plan
  }

  private entryRuntime(name: string): EntryRuntime {
    const entry = this.topology.entries.get(name)
    if (entry) return entry
    throw new UnknownTargetError(name, didYouMean(name, this.topology.entries.keys(), 3))
  }

  /** A non-streaming call to a wrapper, pool or task group. */
  async generate(
    name: string,
    call: LanguageModelV3CallOptions,
    options: RouteOptions = {},
  ): Promise<RoutedGenerateResult> {
    const entry = this.entryRuntime(name)
    const cache = options.cache !== false ? entry.cache : undefined
    const cacheKey = cache?.key(entry.plan.target, 'generate', call)
    const cached = cacheKey ? cache!.getGenerate(cacheKey) : undefined
    if (cached) {
      this.cachedRequest(entry, cached.instance, false)
      return {
        ...cached.value,
        routing: { instance: cached.instance, attempts: [] },
        providerMetadata: {
          ...cached.value.providerMetadata,
          llmpool: { instance: cached.instance, attempts: 0, cached: true },
        },
      }
    }
    const { value, routing } = await this.route(entry, call, options, false, generateAttempt)
    if (cacheKey) cache!.setGenerate(cacheKey, value, routing.instance)
    return Object.assign({}, value, {
      routing,
      providerMetadata: Object.assign({}, value.providerMetadata, {
        llmpool: { instance: routing.instance, attempts: routing.attempts.length },
      }),
    })
  }

  /**
   * Embeddings of `call.values` from a wrapper, pool or task group: one upstream call (one request against `rpm_limit`)
   * for the whole batch, routed like `generate` (rotation, limits, breakers, cooldowns, retries, fallback,
   * deadlines). A batch larger than `maxEmbeddingsPerCall(name)` is refused with `InvalidRequestError` before any
   * call; a target with an instance that cannot embed, with `EmbeddingsUnsupportedError`. Not cached.
   */
  async embed(name: string, call: EmbedCall, options: RouteOptions = {}): Promise<RoutedEmbedResult> {
    const entry = this.entryRuntime(name)
    const admitted = this.embeddings.admit(entry, call)
    if (admitted) await admitted
    const signal = options.signal ?? call.abortSignal
    const routeOptions = signal && !options.signal ? { ...options, signal } : options
    const { value, routing } = await this.route(
      entry,
      NO_LANGUAGE_CALL,
      routeOptions,
      false,
      this.embeddings.attempt(call),
      'embeddings',
    )
    return Object.assign({}, value, {
      routing,
      providerMetadata: Object.assign({}, value.providerMetadata, {
        llmpool: { instance: routing.instance, attempts: routing.attempts.length },
      }),
    })
  }

  /**
   * The most values one `embed` call to `name` takes: the smallest `maxEmbeddingsPerCall` of the embedding models
   * of its instances (made here if they were not yet); undefined when none says. Throws `EmbeddingsUnsupportedError`
   * when an instance's provider has no embedding models, `UnknownTargetError` for an unknown name.
   */
  async maxEmbeddingsPerCall(name: string): Promise<number | undefined> {
    return this.embeddings.maxPerCall(this.entryRuntime(name))
  }

  private cachedRequest(entry: EntryRuntime, instance: string, stream: boolean): void {
    const requestId = ++this.requestIds
    const at = this.clock.now()
    const { name, target } = entry.plan
    this.emit({ type: 'request_start', at, requestId, target, entry: name, stream })
    this.emit({
      type: 'request_end',
      at,
      requestId,
      target,
      entry: name,
      durationMs: 0,
      ok: true,
      instance,
      attempts: 0,
      cached: true,
    })
  }

  /**
   * A streaming call. Fails over to another instance until the first content part; after it, a failure is an
   * `error` part of the stream (never a clean finish).
   */
  async stream(
    name: string,
    call: LanguageModelV3CallOptions,
    options: RouteOptions = {},
  ): Promise<RoutedStreamResult> {
    const entry = this.entryRuntime(name)
    const cache = options.cache !== false ? entry.cache : undefined
    const cacheKey = cache?.key(entry.plan.target, 'stream', call)
    const cached = cacheKey ? cache!.getStream(cacheKey) : undefined
    if (cached) {
      this.cachedRequest(entry, cached.instance, true)
      return { stream: cached.stream, routing: { instance: cached.instance, attempts: [] } }
    }
    const requestId = this.requestIds + 1
    // The finish part's `providerMetadata.llmpool`, filled in below once the routing is known.
    const llmpool: StreamRouting = { instance: '', attempts: 0 }
    const run = streamAttempt({
      clock: this.clock,
      idleTimeoutMs: this.options.streamIdleTimeoutMs ?? 30_000,
      emit: this.context.emit,
      requestId,
      target: entry.plan.target,
      routing: llmpool,
    })
    const { value, routing } = await this.route(entry, call, options, true, run)
    llmpool.instance = routing.instance
    llmpool.attempts = routing.attempts.length
    const stream = cacheKey ? cache!.teeStream(cacheKey, value.stream, routing.instance) : value.stream
    return Object.assign({}, value, { stream, routing })
  }

  private async route<T>(
    entry: EntryRuntime,
    call: LanguageModelV3CallOptions,
    options: RouteOptions,
    stream: boolean,
    run: RunAttempt<T>,
    operation?: 'embeddings',
  ): Promise<{ value: T; routing: Routing }> {
    if (this.disposed) throw new DisposedError('the router')
    const { plan } = entry
    const timeoutMs = options.timeoutMs ?? plan.requestTimeoutMs
    const started = this.clock.now()
    const id = ++this.requestIds
    const request: RequestState = {
      id,
      entry,
      target: plan.target,
      call,
      stream,
      signal: options.signal ?? call.abortSignal,
      deadline: started + timeoutMs,
      timeoutMs,
      attempts: [],
      callsLeft: plan.maxCalls,
      ticket: undefined,
      retry: plan.retry,
      retryOn: (entry.retryOn ??= new Set(plan.retry.retryOn)),
    }
    if (operation) request.operation = operation
    this.emit(
      operation
        ? {
            type: 'request_start',
            at: started,
            requestId: id,
            target: plan.target,
            entry: plan.name,
            stream,
            operation,
          }
        : { type: 'request_start', at: started, requestId: id, target: plan.target, entry: plan.name, stream },
    )
    try {
      const attempt = await execute(this.context, request, run)
      const now = this.clock.now()
      const end: RouterEvent = {
        type: 'request_end',
        at: now,
        requestId: id,
        target: plan.target,
        entry: plan.name,
        durationMs: now - started,
        ok: true,
        instance: attempt.candidate.key,
        attempts: request.attempts.length,
      }
      if (operation) end.operation = operation
      this.emit(end)
      return { value: attempt.value!.value, routing: { instance: attempt.candidate.key, attempts: request.attempts } }
    } catch (error) {
      const now = this.clock.now()
      this.emit({
        type: 'request_end',
        at: now,
        requestId: id,
        target: plan.target,
        entry: plan.name,
        durationMs: now - started,
        ok: false,
        attempts: request.attempts.length,
        error: (error as { code?: string }).code ?? (error as Error)?.name ?? 'error',
        ...(operation ? { operation } : {}),
      })
      throw error
    }
  }

  /** Listens to every router event (attempts, retries, fallbacks, hedges, cooldowns, breaker and health changes, rate limiting). */
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

  /** Names the router routes to: wrappers, pools and task groups. */
  targets(): { wrappers: string[]; pools: string[]; taskGroups: string[] } {
    const { plan } = this.topology
    const of = (kind: EntryPlan['kind']) =>
      [...plan.entries.values()].filter((entry) => entry.kind === kind).map((entry) => entry.name)
    return { wrappers: of('wrapper'), pools: of('pool'), taskGroups: of('task_group') }
  }

  /** Every instance's breaker, health, cooldown, limits and calls in flight, and every pool's admission limit. */
  async state(): Promise<{ instances: InstanceState[]; pools: { name: string; limits: unknown }[] }> {
    const instances = await Promise.all(
      [...this.topology.instances.values()].map(async (instance) => ({
        key: instance.key,
        group: instance.plan.group,
        echelon: instance.plan.echelon,
        model: instance.plan.model,
        inFlight: instance.inFlight,
        draining: instance.draining,
        breaker: instance.breaker.toJSON(),
        health: instance.health.toJSON(),
        cooldown: instance.cooldown.toJSON(),
        limits: instance.limiter ? await instance.limiter.state() : undefined,
      })),
    )
    const pools = await Promise.all(
      [...this.topology.pools.values()].map(async (pool) => ({
        name: pool.name,
        limits: pool.admission ? await pool.admission.state() : undefined,
      })),
    )
    return { instances, pools }
  }

  /** Another process's cooldown, named by the instance's `shareKey`. */
  private applyRemoteCooldown(
    shareKey: string,
    remainingMs: number,
    kind: InstanceRuntime['cooldown']['current'] & string,
    reason: string,
  ): void {
    const instance = this.topology.shared.get(shareKey)
    if (!instance || !(remainingMs > 0)) return
    const ms = Math.min(remainingMs, instance.plan.cooldown.maxMs)
    if (instance.cooldown.rest(ms, kind, reason, true)) {
      this.emit({
        type: 'cooldown',
        at: this.clock.now(),
        instance: instance.key,
        kind,
        durationMs: ms,
        reason,
        remote: true,
      })
    }
  }

  private build(config: ResolvedConfig, previous: Topology | undefined): Topology {
    const plan = compilePlan(config, this.overrides)
    const topology = new Topology(config, plan, previous, {
      limits: this.limits,
      clock: this.clock,
      random: this.random,
      strategies: this.strategies,
      provider: (name) => this.providers.get(name),
      onHealthChange: (instance, healthy, reason) =>
        this.emit({ type: 'health_change', at: this.clock.now(), instance: instance.key, healthy, reason }),
    })
    for (const instance of topology.instances.values()) if (this.breakers.wire(instance)) this.probes.start(instance)
    for (const limiter of topology.retiredLimiters) void limiter.dispose()
    for (const instance of topology.retired) if (instance.inFlight === 0) this.retire(instance)
    const sharing = this.options.cooldowns
    if (sharing?.current) {
      const keys = [...topology.shared.keys()]
      sharing.current(keys).then(
        (running) => {
          for (const cooldown of running)
            this.applyRemoteCooldown(cooldown.instance, cooldown.remainingMs, cooldown.kind, cooldown.reason)
        },
        () => undefined,
      )
    }
    return topology
  }

  private retire(instance: InstanceRuntime): void {
    this.probes.stop(instance)
    this.breakers.unwire(instance)
    void instance.limiter?.dispose()
  }

  /** Stops probes and the reload subscription; disposes the limiter backend if the router made it. */
  async dispose(): Promise<void> {
    this.disposed = true
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose()
    this.probes.stopAll()
    await this.breakers.dispose()
    if (this.ownsLimits) await this.limits.dispose()
  }
}
