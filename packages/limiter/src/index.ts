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
export {
  compositeLimiter,
  type LimiterBackend,
  type MemoryBackend,
  type MemoryBackendOptions,
  memoryBackend,
} from './backend'
export { CompositeLimiter } from './composite'
export { TokenBucketLimiter } from './memory/token-bucket'
export { FixedWindowLimiter } from './memory/fixed-window'
export { SlidingWindowLimiter } from './memory/sliding-window'
export { ConcurrencyLimiter } from './memory/concurrency'
export { CompositeMemoryLimiter } from './memory/composite'
export { createMemoryLimiter } from './memory/index'
export { echelonLimitSpecs, poolLimitSpec } from './from-config'
export { connectRedis, type RedisClientLike, type RedisConnectOptions } from './redis/index'
export {
  type RedisBackend,
  type RedisBackendEvent,
  type RedisBackendOptions,
  type RedisRecoveredEvent,
  type RedisUnavailableEvent,
  type UnavailablePolicy,
  redisBackend,
} from './redis/index'
