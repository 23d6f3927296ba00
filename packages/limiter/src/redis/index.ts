export type { RedisClientLike, RedisConnectOptions } from './client'
export { connectRedis } from './connect'
export { type RedisBackend, redisBackend } from './redis-backend'
export type {
  RedisBackendEvent,
  RedisBackendOptions,
  RedisRecoveredEvent,
  RedisUnavailableEvent,
  UnavailablePolicy,
} from './options'
