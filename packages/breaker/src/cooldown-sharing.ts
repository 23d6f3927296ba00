import type { Disposable } from '@llmpool/schema'

/**
 * Why an instance rests. `rate_limit` / `overloaded`: the upstream said "not now" (429, 529); `auth`: it refused the
 * instance's key (401, 403); `quota_exhausted`: the key is out of quota. (The router's `CooldownKind`.)
 */
export type CooldownKind = 'rate_limit' | 'overloaded' | 'auth' | 'quota_exhausted'

/** Every `CooldownKind`, for checking what arrives from Redis. */
export const COOLDOWN_KINDS: readonly CooldownKind[] = ['rate_limit', 'overloaded', 'auth', 'quota_exhausted']

/** A cooldown one process tells the others about (the router's `SharedCooldown`, structurally). */
export interface SharedCooldown {
  /** The instance key (`group.echelon/provider:model[#N]`), the same in every process with the same configuration. */
  instance: string
  /** Milliseconds from now until it ends. */
  remainingMs: number
  /** Why it rests. */
  kind: CooldownKind
  /** Why, in words (the status and the upstream's hint); never a key. */
  reason: string
}

/**
 * Shares cooldowns between processes: one process's 429 rests the instance in all of them. The router's
 * `cooldowns` option takes it (its `CooldownSharing` type has this shape); `createRedisCooldowns()` is one.
 */
export interface CooldownSharing {
  /** Tells the other processes that `cooldown.instance` rests for `cooldown.remainingMs` from now. */
  publish(cooldown: SharedCooldown): void
  /** Hears the other processes' cooldowns (not this one's own). */
  subscribe(listener: (cooldown: SharedCooldown) => void): Disposable
  /** The cooldowns still running now, for a process that starts (or reloads) after they began. */
  current?(instances: readonly string[]): Promise<SharedCooldown[]>
}
