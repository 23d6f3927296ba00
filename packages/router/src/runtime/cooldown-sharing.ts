import type { Disposable } from '@llmpool/schema'
import type { CooldownKind } from './cooldown'

/** A cooldown one process heard about. */
export interface SharedCooldown {
  /** The instance key (`group.echelon/provider:model[#N]`), the same in every process with the same configuration. */
  instance: string
  /** Milliseconds from now until it ends. */
  remainingMs: number
  kind: CooldownKind
  reason: string
}

/**
 * Shares cooldowns between processes (replicas of one app, several gateways): one process's 429 rests the instance
 * in all of them. `createRedisCooldowns()` of `@llmpool/breaker` is one; `sharedCooldowns()` connects routers of
 * one process (tests).
 */
export interface CooldownSharing {
  /** Tells the other processes that `instance` rests for `durationMs` from now. */
  publish(cooldown: SharedCooldown): void
  /** Hears the other processes' cooldowns (not this one's own). */
  subscribe(listener: (cooldown: SharedCooldown) => void): Disposable
  /** The cooldowns still running now, for a process that starts (or reloads) after they began. */
  current?(instances: readonly string[]): Promise<SharedCooldown[]>
}

/** Cooldown sharing between routers of one process: each `connect()` is one participant. */
export function sharedCooldowns(): { connect(): CooldownSharing } {
  const participants = new Set<(cooldown: SharedCooldown, from: object) => void>()
  const running = new Map<string, { until: number; cooldown: SharedCooldown }>()
  return {
    connect() {
      const self = {}
      return {
        publish(cooldown) {
          running.set(cooldown.instance, { until: Date.now() + cooldown.remainingMs, cooldown })
          for (const participant of participants) participant(cooldown, self)
        },
        subscribe(listener) {
          const participant = (cooldown: SharedCooldown, from: object) => {
            if (from !== self) listener(cooldown)
          }
          participants.add(participant)
          return { dispose: () => void participants.delete(participant) }
        },
        async current(instances) {
          const now = Date.now()
          return instances.flatMap((instance) => {
            const entry = running.get(instance)
            return entry && entry.until > now ? [{ ...entry.cooldown, remainingMs: entry.until - now }] : []
          })
        },
      }
    },
  }
}
