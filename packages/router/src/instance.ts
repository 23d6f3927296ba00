import type { LanguageModelV3 } from '@ai-sdk/provider'
import { type Breaker, breakerOptionsFromConfig, CircuitBreaker } from '@llmpool/breaker'
import type { Limiter, LimiterBackend, LimitSpec } from '@llmpool/limiter'
import type { CircuitBreaker as BreakerConfig, Clock, Echelon } from '@llmpool/schema'
import type { ProviderDefinition, ProviderModelSettings } from './providers'

/** Passive health settings of an instance: from the `health_check` of the pools that contain it. */
export interface HealthSettings {
  failureThreshold: number
  recoveryTimeMs: number
  /** Active probe interval; undefined: no active probes. */
  intervalMs: number | undefined
}

/** Everything that defines an instance: when it is equal across a reload, the instance keeps its state. */
export interface InstanceConfig {
  /** `task_group.echelon/provider:model` */
  key: string
  group: string
  echelon: string
  /** `provider:model` */
  model: string
  settings: ProviderModelSettings
  priority: number
  timeoutMs: number
  maxRetries: number
  temperature: number | undefined
  maxTokens: number | undefined
  limits: LimitSpec[]
  breaker: BreakerConfig
  health: HealthSettings
}

export function instanceConfig(group: string, echelonName: string, echelon: Echelon, model: string, breaker: BreakerConfig, health: HealthSettings): InstanceConfig {
  const colon = model.indexOf(':')
  const limits: LimitSpec[] = []
  if (echelon.rpm_limit !== undefined) limits.push({ kind: 'sliding_window', windowMs: 60_000, limit: echelon.rpm_limit })
  if (echelon.concurrency_limit !== undefined) limits.push({ kind: 'concurrency', limit: echelon.concurrency_limit })
  return {
    key: `${group}.${echelonName}/${model}`,
    group,
    echelon: echelonName,
    model,
    settings: { provider: model.slice(0, colon), modelId: model.slice(colon + 1), apiKey: echelon.api_key, baseURL: echelon.base_url },
    priority: echelon.priority ?? 1,
    timeoutMs: echelon.timeout * 1000,
    maxRetries: echelon.max_retries,
    temperature: echelon.temperature,
    maxTokens: echelon.max_tokens,
    limits,
    breaker,
    health,
  }
}

/** Serializes raw values (secrets included: an api_key change is a change), for comparing configurations. */
export function fingerprint(config: InstanceConfig): string {
  return JSON.stringify(config)
}

/** Passive health: consecutive failures mark the instance unhealthy for the recovery time. */
export class InstanceHealth {
  private consecutiveFailures = 0
  private unhealthyUntil = 0

  constructor(
    private settings: HealthSettings,
    private readonly clock: Clock,
    private readonly onChange: (healthy: boolean, reason: string) => void,
  ) {}

  update(settings: HealthSettings): void {
    this.settings = settings
  }

  get healthy(): boolean {
    return this.clock.now() >= this.unhealthyUntil
  }

  /** Milliseconds until an unhealthy instance is tried again; 0 when healthy. */
  get retryAfterMs(): number {
    return Math.max(0, this.unhealthyUntil - this.clock.now())
  }

  /**
   * A call or probe succeeded. An instance marked unhealthy is announced healthy again here — also when its
   * recovery time has already passed (it was tried again, and it answered), so that every `false` is followed by a
   * `true`.
   */
  success(): void {
    this.consecutiveFailures = 0
    if (this.unhealthyUntil !== 0) {
      this.unhealthyUntil = 0
      this.onChange(true, 'success')
    }
  }

  failure(reason: string): void {
    this.consecutiveFailures++
    if (this.consecutiveFailures >= this.settings.failureThreshold && this.healthy) {
      // Back after its recovery time but failing again before any success: listeners were never told it recovered.
      const announced = this.unhealthyUntil !== 0
      this.unhealthyUntil = this.clock.now() + this.settings.recoveryTimeMs
      this.consecutiveFailures = 0
      if (!announced) this.onChange(false, reason)
    }
  }

  toJSON() {
    return { healthy: this.healthy, consecutiveFailures: this.consecutiveFailures, retryAfterMs: this.retryAfterMs }
  }
}

/** One (task group, echelon, model): its model, limits, breaker, health and calls in flight. */
export class InstanceRuntime {
  readonly breaker: Breaker
  readonly limiter: Limiter | undefined
  readonly health: InstanceHealth
  inFlight = 0
  draining = false
  private languageModel: Promise<LanguageModelV3> | undefined
  /** The model once made: the hot path uses it without awaiting. */
  readyModel: LanguageModelV3 | undefined

  constructor(
    readonly config: InstanceConfig,
    readonly fingerprint: string,
    private readonly provider: ProviderDefinition,
    limits: LimiterBackend,
    clock: Clock,
    onHealthChange: (instance: InstanceRuntime, healthy: boolean, reason: string) => void,
  ) {
    this.breaker = new CircuitBreaker({ ...breakerOptionsFromConfig(config.breaker), clock, name: config.key })
    const parts = config.limits.map((spec) => limits.create(`${config.key}#${spec.kind}`, spec))
    this.limiter = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : limits.composite(config.key, parts)
    this.health = new InstanceHealth(config.health, clock, (healthy, reason) => onHealthChange(this, healthy, reason))
  }

  get key(): string {
    return this.config.key
  }

  get group(): string {
    return this.config.group
  }

  get echelon(): string {
    return this.config.echelon
  }

  get model(): string {
    return this.config.model
  }

  get priority(): number {
    return this.config.priority
  }

  /** The AI SDK model, made on first use. */
  getModel(): Promise<LanguageModelV3> {
    if (!this.languageModel) {
      const made = Promise.resolve(this.provider.createModel(this.config.settings))
      made.then(
        (model) => {
          this.readyModel = model
        },
        () => {
          if (this.languageModel === made) this.languageModel = undefined
        },
      )
      this.languageModel = made
    }
    return this.languageModel
  }

  probe(signal: AbortSignal): Promise<void> | undefined {
    return this.provider.probe?.(this.config.settings, signal)
  }

  /** Admitted by breaker and health (capacity is checked separately). */
  get admitted(): boolean {
    return !this.draining && this.health.healthy && this.breaker.state !== 'open'
  }
}
