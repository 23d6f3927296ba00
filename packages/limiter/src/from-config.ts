import type { Echelon, RateLimitingTable } from '@llmpool/schema'
import type { LimitSpec } from './types'

/**
 * The one place where the TOML keys of limits become limiter specs (seconds → milliseconds, snake_case →
 * camelCase).
 */

/** A pool's `[pool.rate_limiting]`, or undefined when it is disabled. */
export function poolLimitSpec(rateLimiting: RateLimitingTable): LimitSpec | undefined {
  if (!rateLimiting.enabled) return undefined
  if (rateLimiting.algorithm === 'token_bucket') {
    const bucket = rateLimiting.token_bucket
    if (!bucket) throw new RangeError('rate_limiting.token_bucket is missing')
    return { kind: 'token_bucket', bucketSize: bucket.bucket_size, refillPerSecond: bucket.refill_rate }
  }
  const window = rateLimiting.fixed_window
  if (!window) throw new RangeError('rate_limiting.fixed_window is missing')
  return { kind: 'fixed_window', windowMs: window.window_size * 1000, maxRequests: window.max_requests }
}

/** The limits of each instance of an echelon: `rpm_limit` (a sliding 60 s window) and `concurrency_limit`. */
export function echelonLimitSpecs(echelon: Pick<Echelon, 'rpm_limit' | 'concurrency_limit'>): LimitSpec[] {
  const specs: LimitSpec[] = []
  if (echelon.rpm_limit !== undefined)
    specs.push({ kind: 'sliding_window', windowMs: 60_000, limit: echelon.rpm_limit })
  if (echelon.concurrency_limit !== undefined) specs.push({ kind: 'concurrency', limit: echelon.concurrency_limit })
  return specs
}
