import type { Clock } from '@llmpool/schema'
import type { LimitSpec } from '../types'
import { ConcurrencyLimiter } from './concurrency'
import { FixedWindowLimiter } from './fixed-window'
import type { MemoryLimiter } from './memory-limiter'
import { SlidingWindowLimiter } from './sliding-window'
import { TokenBucketLimiter } from './token-bucket'

/** A memory limiter for a spec. */
export function createMemoryLimiter(name: string, spec: LimitSpec, clock?: Clock): MemoryLimiter {
  switch (spec.kind) {
    case 'token_bucket':
      return new TokenBucketLimiter(name, spec.bucketSize, spec.refillPerSecond, clock)
    case 'fixed_window':
      return new FixedWindowLimiter(name, spec.windowMs, spec.maxRequests, clock)
    case 'sliding_window':
      return new SlidingWindowLimiter(name, spec.windowMs, spec.limit, clock)
    case 'concurrency':
      return new ConcurrencyLimiter(name, spec.limit, clock)
    default:
      throw new RangeError(`unknown limit kind ${JSON.stringify((spec as { kind: unknown }).kind)}`)
  }
}
