import { MAX_SLIDING_WINDOW_LIMIT } from '../memory/sliding-window'
import type { LimiterKind, LimitSpec } from '../types'

/** One limit as the Lua scripts see it: its key, a one-letter kind and two numbers (see `lua/apply.ts`). */
export interface RedisPart {
  readonly kind: Exclude<LimiterKind, 'composite'>
  /** `{prefix:name}:<kind>`: the hash tag keeps all keys of a limiter in one Redis Cluster slot. */
  readonly key: string
  readonly code: 'b' | 'f' | 's' | 'c'
  readonly a: number
  readonly b: number
  /** The most it admits at once: the heaviest acquisition that can ever succeed. */
  readonly capacity: number
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message)
}

/** The key prefix of a limiter: the hash tag `{prefix:name}` puts every key of it in one Cluster slot. */
export function limiterTag(prefix: string, name: string): string {
  return `{${prefix}:${name}}`
}

/**
 * The keys of a limiter's queue, under its own hash tag: the places of the processes waiting for it (a sorted set
 * scored by arrival) and when each place lapses (a sorted set scored by time). See `lua/apply.ts`.
 */
export function queueKeysOf(prefix: string, name: string): [string, string] {
  const tag = limiterTag(prefix, name)
  return [`${tag}:queue`, `${tag}:queue:expiry`]
}

/** Checks a spec like the memory limiters do (RangeError) and maps it to the scripts' terms. */
export function createPart(prefix: string, name: string, spec: LimitSpec, leaseTtlMs: number): RedisPart {
  const tag = limiterTag(prefix, name)
  switch (spec.kind) {
    case 'token_bucket':
      check(Number.isInteger(spec.bucketSize) && spec.bucketSize >= 1, `bucketSize must be an integer ≥ 1 (got ${spec.bucketSize})`)
      check(Number.isFinite(spec.refillPerSecond) && spec.refillPerSecond > 0, `refillPerSecond must be a number > 0 (got ${spec.refillPerSecond})`)
      return { kind: spec.kind, key: `${tag}:bucket`, code: 'b', a: spec.bucketSize, b: spec.refillPerSecond / 1000, capacity: spec.bucketSize }
    case 'fixed_window':
      check(Number.isFinite(spec.windowMs) && spec.windowMs > 0, `windowMs must be a number > 0 (got ${spec.windowMs})`)
      check(Number.isInteger(spec.maxRequests) && spec.maxRequests >= 1, `maxRequests must be an integer ≥ 1 (got ${spec.maxRequests})`)
      return { kind: spec.kind, key: `${tag}:fixed`, code: 'f', a: spec.windowMs, b: spec.maxRequests, capacity: spec.maxRequests }
    case 'sliding_window':
      check(Number.isFinite(spec.windowMs) && spec.windowMs > 0, `windowMs must be a number > 0 (got ${spec.windowMs})`)
      check(
        Number.isInteger(spec.limit) && spec.limit >= 1 && spec.limit <= MAX_SLIDING_WINDOW_LIMIT,
        `limit must be an integer from 1 to ${MAX_SLIDING_WINDOW_LIMIT} (got ${spec.limit})`,
      )
      return { kind: spec.kind, key: `${tag}:sliding`, code: 's', a: spec.windowMs, b: spec.limit, capacity: spec.limit }
    case 'concurrency':
      check(Number.isInteger(spec.limit) && spec.limit >= 1, `limit must be an integer ≥ 1 (got ${spec.limit})`)
      return { kind: spec.kind, key: `${tag}:concurrency`, code: 'c', a: spec.limit, b: leaseTtlMs, capacity: spec.limit }
    default:
      throw new RangeError(`unknown limit kind ${JSON.stringify((spec as { kind: unknown }).kind)}`)
  }
}
