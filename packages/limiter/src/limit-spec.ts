import type { LimitSpec } from './types'

/** Largest `limit` a sliding window accepts: it keeps one timestamp per admission (8 bytes each in memory). */
export const MAX_SLIDING_WINDOW_LIMIT = 1_000_000

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message)
}

/** Throws a `RangeError` naming the field when a spec's values are out of range (as creating a limiter does). */
export function checkLimitSpec(spec: LimitSpec): void {
  switch (spec.kind) {
    case 'token_bucket':
      check(
        Number.isInteger(spec.bucketSize) && spec.bucketSize >= 1,
        `bucketSize must be an integer ≥ 1 (got ${spec.bucketSize})`,
      )
      check(
        Number.isFinite(spec.refillPerSecond) && spec.refillPerSecond > 0,
        `refillPerSecond must be a number > 0 (got ${spec.refillPerSecond})`,
      )
      return
    case 'fixed_window':
      check(Number.isFinite(spec.windowMs) && spec.windowMs > 0, `windowMs must be a number > 0 (got ${spec.windowMs})`)
      check(
        Number.isInteger(spec.maxRequests) && spec.maxRequests >= 1,
        `maxRequests must be an integer ≥ 1 (got ${spec.maxRequests})`,
      )
      return
    case 'sliding_window':
      check(Number.isFinite(spec.windowMs) && spec.windowMs > 0, `windowMs must be a number > 0 (got ${spec.windowMs})`)
      check(
        Number.isInteger(spec.limit) && spec.limit >= 1 && spec.limit <= MAX_SLIDING_WINDOW_LIMIT,
        `limit must be an integer from 1 to ${MAX_SLIDING_WINDOW_LIMIT} (got ${spec.limit})`,
      )
      return
    case 'concurrency':
      check(Number.isInteger(spec.limit) && spec.limit >= 1, `limit must be an integer ≥ 1 (got ${spec.limit})`)
      return
    default:
      throw new RangeError(`unknown limit kind ${JSON.stringify((spec as { kind: unknown }).kind)}`)
  }
}

/** The argument of `Limiter.reconfigure` as a list: a single spec is a list of one. */
export function limitSpecList(limits: LimitSpec | readonly LimitSpec[]): readonly LimitSpec[] {
  return Array.isArray(limits) ? limits : [limits as LimitSpec]
}

/**
 * For a limiter of one part: the spec `limits` holds for it — one spec, or a list of exactly one, of `kind` —
 * checked (a `RangeError` for a bad value); undefined when the shape or the kind differs.
 */
export function singleLimitSpec(limits: LimitSpec | readonly LimitSpec[], kind: string): LimitSpec | undefined {
  const specs = limitSpecList(limits)
  const spec = specs.length === 1 ? specs[0] : undefined
  if (spec === undefined || spec.kind !== kind) return undefined
  checkLimitSpec(spec)
  return spec
}

/**
 * For a composite: one spec per part, in the parts' order, each of its part's kind, all checked before anything
 * changes (a `RangeError` for a bad value); undefined when the number or a kind differs.
 */
export function partLimitSpecs(
  limits: LimitSpec | readonly LimitSpec[],
  kinds: readonly string[],
): readonly LimitSpec[] | undefined {
  const specs = limitSpecList(limits)
  if (specs.length !== kinds.length || specs.some((spec, i) => spec?.kind !== kinds[i])) return undefined
  for (const spec of specs) checkLimitSpec(spec)
  return specs
}
