import { type Clock, unref } from '@llmpool/schema'
import { timeoutError } from '../signals'
import type { InstanceRuntime } from './instance'

/**
 * Active health: one probe per instance every `health.intervalMs` (the strictest interval of the pools that contain
 * its group), however many entries reach it. A probe that answers marks the instance healthy — and ends a rest for a
 * refused key, since the key works again; one that fails counts as a health failure. An instance resting after a
 * 429 is not probed: the upstream asked for quiet.
 */
export class Probes {
  private readonly timers = new Map<InstanceRuntime, unknown>()
  private stopped = false

  constructor(
    private readonly clock: Clock,
    private readonly enabled: boolean,
  ) {}

  start(instance: InstanceRuntime): void {
    const interval = instance.plan.health.intervalMs
    if (!this.enabled || this.stopped || interval === undefined || !Number.isFinite(interval)) return
    const timer = this.clock.setTimeout(() => void this.probe(instance), interval)
    unref(timer)
    this.timers.set(instance, timer)
  }

  private async probe(instance: InstanceRuntime): Promise<void> {
    if (this.stopped || instance.draining || !this.timers.has(instance)) return
    const resting = instance.cooldown.current
    if (resting === 'rate_limit' || resting === 'overloaded') return this.start(instance)
    const interval = instance.plan.health.intervalMs ?? 10_000
    const controller = new AbortController()
    const timeout = this.clock.setTimeout(
      () => controller.abort(timeoutError('health probe timed out')),
      Math.min(interval, 10_000),
    )
    try {
      const probing = instance.probe(controller.signal)
      if (probing) {
        await probing
        instance.health.success()
        if (instance.cooldown.current === 'auth') instance.cooldown.clear()
      }
    } catch (error) {
      instance.health.failure(`probe: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      this.clock.clearTimeout(timeout)
      if (!this.stopped && !instance.draining && this.timers.has(instance)) this.start(instance)
    }
  }

  stop(instance: InstanceRuntime): void {
    this.clock.clearTimeout(this.timers.get(instance))
    this.timers.delete(instance)
  }

  stopAll(): void {
    this.stopped = true
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer)
    this.timers.clear()
  }
}
