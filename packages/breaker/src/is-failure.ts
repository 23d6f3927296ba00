import { classifyFailure, type FailureKind } from './classify-failure'

/**
 * The kinds `defaultIsFailure` counts. Each says the instance cannot serve now or for a while: moving traffic away
 * and probing later is right. Left out: `aborted` (the caller gave up), `bad_request`, `not_found` and
 * `content_policy` (the request's fault, not the upstream's) and `rate_limit` (transient; the limiter and
 * `retry-after` handle it).
 */
export const COUNTED_FAILURE_KINDS: readonly FailureKind[] = Object.freeze([
  'timeout',
  'server_error',
  'overloaded',
  'network_error',
  'auth',
  'quota_exhausted',
  'unknown',
] satisfies FailureKind[])

/** An `isFailure` predicate that counts exactly the given kinds, e.g. `[...COUNTED_FAILURE_KINDS, 'not_found']`. */
export function countFailureKinds(kinds: Iterable<FailureKind>): (error: unknown) => boolean {
  const counted = new Set(kinds)
  return (error) => counted.has(classifyFailure(error))
}

const defaultCounted = new Set<FailureKind>(COUNTED_FAILURE_KINDS)

/** The default `isFailure`: true when `classifyFailure(error)` is one of `COUNTED_FAILURE_KINDS`. */
export function defaultIsFailure(error: unknown): boolean {
  return defaultCounted.has(classifyFailure(error))
}
