import { checkLimitSpec } from '../limit-spec'
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
  checkLimitSpec(spec)
  const tag = limiterTag(prefix, name)
  switch (spec.kind) {
    case 'token_bucket':
      return {
        kind: spec.kind,
        key: `${tag}:bucket`,
        code: 'b',
        a: spec.bucketSize,
        b: spec.refillPerSecond / 1000,
        capacity: spec.bucketSize,
      }
    case 'fixed_window':
      return {
        kind: spec.kind,
        key: `${tag}:fixed`,
        code: 'f',
        a: spec.windowMs,
        b: spec.maxRequests,
        capacity: spec.maxRequests,
      }
    case 'sliding_window':
      return {
        kind: spec.kind,
        key: `${tag}:sliding`,
        code: 's',
        a: spec.windowMs,
        b: spec.limit,
        capacity: spec.limit,
      }
    case 'concurrency':
      return {
        kind: spec.kind,
        key: `${tag}:concurrency`,
        code: 'c',
        a: spec.limit,
        b: leaseTtlMs,
        capacity: spec.limit,
      }
  }
}
