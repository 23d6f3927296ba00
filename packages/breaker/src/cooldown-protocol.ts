/**
 * What processes sharing cooldowns through Redis say to each other. As for breakers (decision 0005), times travel as
 * remaining milliseconds and are stored as a key's PTTL, never as clock readings, so clock skew cannot shift them.
 */
import { COOLDOWN_KINDS, type CooldownKind } from './cooldown-sharing'

/** A cooldown on the channel. */
export interface CooldownMessage {
  /** Protocol version. */
  v: 1
  /** The sharing (process) that sent it; a sharing ignores its own messages. */
  origin: string
  instance: string
  /** Milliseconds until it ends, as the sender saw it when it sent the message. */
  remainingMs: number
  kind: CooldownKind
  reason: string
}

/** The value of an instance's key while it rests; the key's PTTL is the time left. */
export interface StoredCooldown {
  v: 1
  origin: string
  kind: CooldownKind
  reason: string
}

/**
 * The key of an instance's cooldown, e.g. `{llmpool:cooldowns:support.primary/openai:gpt-4o}`: hash-tagged, so that
 * its commands go to one Redis Cluster node whatever the instance key holds.
 */
export function cooldownKey(keyPrefix: string, instance: string): string {
  return `{${keyPrefix}:${instance}}`
}

/** The channel every process of a key prefix publishes its cooldowns on. */
export function cooldownChannel(keyPrefix: string): string {
  return `${keyPrefix}:published`
}

/**
 * Stores the cooldown (ARGV[1]) for ARGV[2] ms unless the key already holds a longer one: a longer rest wins, as in
 * each router. 1 when stored, 0 when the stored one lasts at least as long.
 */
export const STORE_IF_LONGER = `local left = redis.call('PTTL', KEYS[1])
if left > 0 and left >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

/** Parses a message; `undefined` for anything that is not a well-formed version-1 cooldown. */
export function decodeCooldownMessage(raw: string): CooldownMessage | undefined {
  const value = parse(raw)
  if (value === undefined || value.v !== 1 || typeof value.origin !== 'string' || typeof value.instance !== 'string')
    return undefined
  const { remainingMs, kind, reason } = value
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs) || remainingMs <= 0) return undefined
  if (!isKind(kind) || typeof reason !== 'string') return undefined
  return { v: 1, origin: value.origin, instance: value.instance, remainingMs, kind, reason }
}

/** Parses a key's value; `undefined` when malformed. */
export function decodeStoredCooldown(raw: unknown): StoredCooldown | undefined {
  if (typeof raw !== 'string') return undefined
  const value = parse(raw)
  if (
    value === undefined ||
    value.v !== 1 ||
    typeof value.origin !== 'string' ||
    !isKind(value.kind) ||
    typeof value.reason !== 'string'
  )
    return undefined
  return { v: 1, origin: value.origin, kind: value.kind, reason: value.reason }
}

export function isKind(value: unknown): value is CooldownKind {
  return typeof value === 'string' && (COOLDOWN_KINDS as readonly string[]).includes(value)
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
