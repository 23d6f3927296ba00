export { LLMPoolError, type LLMPoolErrorOptions } from './errors'
export { type Clock, type Disposable, systemClock } from './clock'
export { MODEL_ID_PATTERN, NAME_PATTERN } from './common'
export {
  RegistryEntry,
  RegistryFile,
  RegistryGlobal,
  RegistryInfo,
} from './registry'
export {
  FixedWindow,
  HealthCheck,
  Pool,
  PoolFallback,
  PoolFile,
  PoolMetrics,
  POOL_FALLBACK_STRATEGIES,
  POOL_KEY_ALIASES,
  RATE_LIMIT_ALGORITHMS,
  RateLimiting,
  ROTATION_STRATEGIES,
  CUSTOM_STRATEGY_PATTERN,
  RotationStrategy,
  TokenBucket,
} from './pool'
export {
  CircuitBreaker,
  Cooldown,
  Echelon,
  GROUP_FALLBACK_STRATEGIES,
  GroupFallback,
  TaskGroup,
  TaskGroupFile,
  TaskGroupMetrics,
} from './task-group'
export {
  Cache,
  ErrorHandling,
  LOG_LEVELS,
  Logging,
  PoolWrapper,
  PoolWrappersFile,
  PoolWrappersGlobal,
  RETRYABLE_ERRORS,
  TaskGroupWrapper,
  TaskGroupWrappersFile,
  TaskGroupWrappersGlobal,
  TOOL_SELECTION_STRATEGIES,
  Wrapper,
  WRAPPER_TYPES,
} from './wrappers'
export { schemaDefaults } from './defaults'
export { type ClusterNode, isClusterUrl, type ParsedRedisUrl, parseRedisUrl } from './redis-url'
export { FILE_KINDS, type FileKind, fileSchemas, jsonSchemaFileNames, toJsonSchema } from './json-schema'
