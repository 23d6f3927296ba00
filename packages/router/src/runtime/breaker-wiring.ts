import type { Breaker } from '@llmpool/breaker'
import type { Clock, Disposable } from '@llmpool/schema'
import type { RouterEvent } from '../events'
import type { RouterOptions } from '../router-options'
import type { InstanceRuntime } from './instance'

interface Wired {
  breaker: Breaker
  listener: Disposable
  shared: Promise<Disposable | undefined> | undefined
}

/**
 * Each instance's breaker, wired: its state changes become `breaker_change` events and, with `breakers`, are shared
 * with other processes. An instance kept by a reload whose breaker was made anew (new settings) is rewired.
 */
export class BreakerWiring {
  private readonly wired = new Map<InstanceRuntime, Wired>()

  constructor(
    private readonly emit: (event: RouterEvent) => void,
    private readonly sharing: RouterOptions['breakers'],
  ) {}

  /** Wires the instance's current breaker; true when the instance is new here (not wired before). */
  wire(instance: InstanceRuntime): boolean {
    const previous = this.wired.get(instance)
    if (previous?.breaker === instance.breaker) return false
    if (previous) this.unwire(instance)
    const { breaker } = instance
    const listener = breaker.onStateChange((change) =>
      this.emit({
        type: 'breaker_change',
        at: change.at,
        instance: instance.key,
        from: change.from,
        to: change.to,
        reason: change.reason,
      }),
    )
    // Shared under the instance's shareKey: another API key or base URL is another breaker in every process.
    const shared = this.sharing
      ?.add(breaker as Breaker & { readonly clock: Clock }, instance.plan.shareKey)
      .catch(() => undefined)
    this.wired.set(instance, { breaker, listener, shared })
    return previous === undefined
  }

  unwire(instance: InstanceRuntime): void {
    const wired = this.wired.get(instance)
    if (!wired) return
    this.wired.delete(instance)
    wired.listener.dispose()
    void wired.shared?.then((sharing) => sharing?.dispose())
    ;(wired.breaker as Partial<Disposable>).dispose?.()
  }

  async dispose(): Promise<void> {
    for (const [instance, wired] of [...this.wired]) {
      this.wired.delete(instance)
      wired.listener.dispose()
      ;(await wired.shared)?.dispose()
    }
  }
}
