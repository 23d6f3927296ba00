import type { CooldownKind } from '@llmpool/breaker'
import type { Clock } from '@llmpool/schema'

/**
 * Why an instance rests (one definition, `@llmpool/breaker`'s, shared with `createRedisCooldowns`).
 * `rate_limit` / `overloaded`: the upstream said "not now" (429, 529); `auth`: it refused the instance's key (401,
 * 403); `quota_exhausted`: the key is out of quota.
 */
export type { CooldownKind } from '@llmpool/breaker'

/** A cooldown as the admin view shows it. */
export interface CooldownState {
  kind: CooldownKind
  /** Why, in words: the status and the hint the upstream gave. Never a key. */
  reason: string
  /** Milliseconds until it ends. */
  remainingMs: number
  /** True when another process (through shared cooldowns) set it. */
  remote: boolean
}

/**
 * An instance's rest after its upstream said "not now" or "not you". It is skipped by every request until the time
 * is up, then returns by itself: nothing to close, no trial call. A longer rest wins over a shorter one.
 */
export class InstanceCooldown {
  private until = 0
  private kind: CooldownKind = 'rate_limit'
  private reason = ''
  private remote = false

  constructor(private readonly clock: Clock) {}

  /** True while resting. (Reads the clock only while a rest is set; an ended rest is forgotten.) */
  get active(): boolean {
    if (this.until === 0) return false
    if (this.clock.now() < this.until) return true
    this.until = 0
    return false
  }

  get remainingMs(): number {
    return this.until === 0 ? 0 : Math.max(0, this.until - this.clock.now())
  }

  /** What it rests for, while it does. */
  get current(): CooldownKind | undefined {
    return this.active ? this.kind : undefined
  }

  /** Rests `ms` from now, unless it already rests longer. Returns true when this extended the rest. */
  rest(ms: number, kind: CooldownKind, reason: string, remote = false): boolean {
    const until = this.clock.now() + ms
    if (this.active && until <= this.until) return false
    this.until = until
    this.kind = kind
    this.reason = reason
    this.remote = remote
    return true
  }

  /** Ends the rest now (a reload that changed the key, a successful probe of a refused key). */
  clear(): void {
    this.until = 0
  }

  toJSON(): CooldownState | undefined {
    if (!this.active) return undefined
    return { kind: this.kind, reason: this.reason, remainingMs: this.remainingMs, remote: this.remote }
  }
}
