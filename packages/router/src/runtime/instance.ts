import type { LanguageModelV3 } from '@ai-sdk/provider'
import { type Breaker, CircuitBreaker } from '@llmpool/breaker'
import type { Limiter, LimiterBackend, LimitSpec } from '@llmpool/limiter'
import type { Clock } from '@llmpool/schema'
import type { InstancePlan } from '../plan/types'
import type { ProviderDefinition, ProviderModelSettings } from '../providers'
import { InstanceCooldown } from './cooldown'
import { InstanceHealth } from './health'

/** What an instance runtime needs from the router. */
export interface InstanceContext {
  limits: LimiterBackend
  clock: Clock
  provider(name: string): ProviderDefinition
  onHealthChange(instance: InstanceRuntime, healthy: boolean, reason: string): void
}

const sameLimits = (a: readonly LimitSpec[], b: readonly LimitSpec[]) => JSON.stringify(a) === JSON.stringify(b)
const sameBreaker = (a: InstancePlan['breaker'], b: InstancePlan['breaker']) =>
  a.failureThreshold === b.failureThreshold &&
  a.recoveryTimeMs === b.recoveryTimeMs &&
  a.halfOpenRequests === b.halfOpenRequests

function makeBreaker(plan: InstancePlan, clock: Clock, restoreFrom?: Breaker): CircuitBreaker {
  const breaker = new CircuitBreaker({
    failureThreshold: plan.breaker.failureThreshold,
    recoveryTimeMs: plan.breaker.recoveryTimeMs,
    halfOpenRequests: plan.breaker.halfOpenRequests,
    clock,
    name: plan.key,
  })
  if (restoreFrom) breaker.restore(restoreFrom.toJSON())
  return breaker
}

/**
 * One instance at run time: its model, limits, breaker, health, cooldown and calls in flight. Kept across reloads
 * while its identity (group, echelon, model, key, base URL) is unchanged; `update` applies the rest of a new plan.
 */
export class InstanceRuntime {
  plan: InstancePlan
  breaker: Breaker
  limiter: Limiter | undefined
  readonly health: InstanceHealth
  readonly cooldown: InstanceCooldown
  inFlight = 0
  draining = false
  private languageModel: Promise<LanguageModelV3> | undefined
  /** The model once made: the hot path uses it without awaiting. */
  readyModel: LanguageModelV3 | undefined
  private readonly provider: ProviderDefinition
  readonly settings: ProviderModelSettings

  constructor(
    plan: InstancePlan,
    private readonly context: InstanceContext,
  ) {
    this.plan = plan
    this.provider = context.provider(plan.provider)
    this.settings = { provider: plan.provider, modelId: plan.modelId, apiKey: plan.apiKey, baseURL: plan.baseURL }
    this.breaker = makeBreaker(plan, context.clock)
    this.limiter = this.makeLimiter(plan)
    this.health = new InstanceHealth(plan.health, context.clock, (healthy, reason) =>
      context.onHealthChange(this, healthy, reason),
    )
    this.cooldown = new InstanceCooldown(context.clock)
  }

  private makeLimiter(plan: InstancePlan): Limiter | undefined {
    const parts = plan.limits.map((spec) => this.context.limits.create(`${plan.key}#${spec.kind}`, spec))
    return parts.length === 0
      ? undefined
      : parts.length === 1
        ? parts[0]
        : this.context.limits.composite(plan.key, parts)
  }

  /**
   * A new plan for the same identity. Limits, breaker settings, health settings and per-attempt values take effect;
   * the breaker's state, the health, the cooldown and the calls in flight stay. Returns what was replaced, so that
   * the router can rewire its listeners: `breaker` (made anew with the old one's state) and `limiter`.
   */
  update(plan: InstancePlan): { breaker: boolean; limiter: Limiter | undefined } {
    const previous = this.plan
    this.plan = plan
    this.health.update(plan.health)
    let replacedBreaker = false
    if (!sameBreaker(previous.breaker, plan.breaker)) {
      this.breaker = makeBreaker(plan, this.context.clock, this.breaker)
      replacedBreaker = true
    }
    let retired: Limiter | undefined
    if (!sameLimits(previous.limits, plan.limits)) {
      // The same kinds of limits: new values, kept counts (permits held, window entries). Others: a new limiter.
      const kept = plan.limits.length === previous.limits.length && this.limiter?.reconfigure?.(plan.limits) === true
      if (!kept) {
        retired = this.limiter
        this.limiter = this.makeLimiter(plan)
      }
    }
    return { breaker: replacedBreaker, limiter: retired }
  }

  get key(): string {
    return this.plan.key
  }

  get group(): string {
    return this.plan.group
  }

  get echelon(): string {
    return this.plan.echelon
  }

  get model(): string {
    return this.plan.model
  }

  get priority(): number {
    return this.plan.priority
  }

  /** The AI SDK model, made on first use (and ahead of it by `warmUp`). */
  getModel(): Promise<LanguageModelV3> {
    if (!this.languageModel) {
      const made = Promise.resolve().then(() => this.provider.createModel(this.settings))
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

  /** Makes the model now, so that the first request does not wait for a provider package to load. */
  warmUp(): void {
    this.getModel().catch(() => undefined)
  }

  probe(signal: AbortSignal): Promise<void> | undefined {
    return this.provider.probe?.(this.settings, signal)
  }

  /** Admitted by breaker, health and cooldown (capacity is checked separately). */
  get admitted(): boolean {
    return !this.draining && !this.cooldown.active && this.health.healthy && this.breaker.state !== 'open'
  }

  /** Milliseconds until this instance may be admitted again (0 when it is). */
  get recoveryMs(): number {
    if (this.draining) return Number.POSITIVE_INFINITY
    return Math.max(
      this.cooldown.remainingMs,
      this.health.retryAfterMs,
      this.breaker.state === 'open' ? this.breaker.retryAfterMs : 0,
    )
  }
}
