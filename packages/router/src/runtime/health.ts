import type { Clock } from '@llmpool/schema'
import type { InstancePlan } from '../plan/types'

export type HealthSettings = InstancePlan['health']

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
    return this.unhealthyUntil === 0 || this.clock.now() >= this.unhealthyUntil
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
