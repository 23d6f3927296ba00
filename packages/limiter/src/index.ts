export type {
  AcquireOptions,
  Acquisition,
  Denial,
  Lease,
  Limiter,
  LimiterKind,
  LimiterState,
  LimitSpec,
  SyncLimiter,
} from './types'
export { AcquireAbortedError, AcquireTimeoutError, LimiterUnavailableError } from './errors'
export { compositeLimiter, type LimiterBackend, type MemoryBackend, type MemoryBackendOptions, memoryBackend } from './backend'
export { CompositeLimiter } from './composite'
export { MemoryLimiter } from './memory/memory-limiter'
export { TokenBucketLimiter } from './memory/token-bucket'
export { FixedWindowLimiter } from './memory/fixed-window'
export { SlidingWindowLimiter } from './memory/sliding-window'
export { MAX_SLIDING_WINDOW_LIMIT } from './limit-spec'
export { ConcurrencyLimiter } from './memory/concurrency'
export { CompositeMemoryLimiter } from './memory/composite'
export { createMemoryLimiter } from './memory/index'
export { echelonLimitSpecs, poolLimitSpec } from './from-config'
export { connectRedis } from './redis/index'
export {
  type RedisBackend,
  type RedisBackendEvent,
  type RedisBackendOptions,
  type RedisRecoveredEvent,
  type RedisUnavailableEvent,
  type UnavailablePolicy,
  redisBackend,
} from './redis/index'
