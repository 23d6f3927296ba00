import type { CooldownSharing, SharedCooldown } from '@llmpool/breaker'

/** The sharing contract is `@llmpool/breaker`'s (`createRedisCooldowns()` implements it): one definition. */
export type { CooldownSharing, SharedCooldown } from '@llmpool/breaker'

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
