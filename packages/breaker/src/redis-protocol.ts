/**
 * What breakers sharing state through Redis say to each other. Times travel as *remaining* milliseconds, never as
 * clock readings, so clock skew between hosts cannot shift an opening (see docs/decisions/0005-circuit-breaker.md).
 */

/** One message on the group's channel. */
export type SharedStateMessage =
  | {
      /** Protocol version. */
      v: 1
      /** The group (process) that sent it; a group ignores its own messages. */
      origin: string
      /** The breaker's shared name. */
      name: string
      state: 'open'
      /** Milliseconds until half-open, as the sender saw it when it sent the message. */
      remainingMs: number
      /** The recovery time of this opening (after backoff). */
      recoveryTimeMs: number
      /** Consecutive re-openings, so that every replica backs off alike. */
      reopenCount: number
    }
  | { v: 1; origin: string; name: string; state: 'closed' }

/** The value stored at the state key while a breaker is open; the key's PTTL is the remaining time. */
export interface StoredOpening {
  recoveryTimeMs: number
  reopenCount: number
  origin: string
}

/** The hash-tagged key that holds an open breaker's state, e.g. `{llmpool:breaker:openai-main}`. */
export function stateKey(keyPrefix: string, name: string): string {
  return `{${keyPrefix}:${name}}`
}

/**
 * The key that says which process runs a half-open breaker's trials: its value is the claim's token, its PTTL the
 * time left (see redis-trial-coordinator.ts). Same hash tag as the state key.
 */
export function trialKey(keyPrefix: string, name: string): string {
  return `${stateKey(keyPrefix, name)}:trial`
}

/** The channel every breaker of a key prefix publishes its openings and closings on. */
export function channelName(keyPrefix: string): string {
  return `${keyPrefix}:changes`
}

export function encodeMessage(message: SharedStateMessage): string {
  return JSON.stringify(message)
}

/** Parses a message; `undefined` for anything that is not a well-formed version-1 message. */
export function decodeMessage(raw: string): SharedStateMessage | undefined {
  const value = parse(raw)
  if (value === undefined || value.v !== 1 || typeof value.origin !== 'string' || typeof value.name !== 'string') {
    return undefined
  }
  if (value.state === 'closed') return { v: 1, origin: value.origin, name: value.name, state: 'closed' }
  if (value.state !== 'open') return undefined
  const opening = decodeOpening(value)
  if (opening === undefined || !isPositive(value.remainingMs)) return undefined
  return { v: 1, origin: value.origin, name: value.name, state: 'open', remainingMs: value.remainingMs, ...opening }
}

/** Parses the stored value of a state key. */
export function decodeStored(raw: unknown): StoredOpening | undefined {
  if (typeof raw !== 'string') return undefined
  const value = parse(raw)
  const opening = value === undefined ? undefined : decodeOpening(value)
  if (value === undefined || opening === undefined) return undefined
  return { ...opening, origin: typeof value.origin === 'string' ? value.origin : '' }
}

function decodeOpening(value: Record<string, unknown>): { recoveryTimeMs: number; reopenCount: number } | undefined {
  const { recoveryTimeMs, reopenCount } = value
  if (!isPositive(recoveryTimeMs)) return undefined
  if (typeof reopenCount !== 'number' || !Number.isInteger(reopenCount) || reopenCount < 0) return undefined
  return { recoveryTimeMs, reopenCount }
}

function parse(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0
}
