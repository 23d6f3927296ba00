export { LLMPoolError, type LLMPoolErrorOptions } from './errors'
export {
  DisposedError,
  importOptional,
  MissingPackageError,
  type RedisProblemCode,
  RedisProblemError,
} from './shared-errors'
export { unref } from './unref'
export { type Clock, type Disposable, systemClock } from './clock'
export { MODEL_ID_PATTERN, NAME_PATTERN } from './common'
export {
  RegistryEntry,
  RegistryFile,
  RegistryGlobal,
  RegistryInfoTable,
} from './registry'
export {
  FixedWindowTable,
  HealthCheckTable,
  Pool,
  PoolFallbackTable,
  PoolFile,
  PoolMetricsTable,
  POOL_FALLBACK_STRATEGIES,
  POOL_KEY_ALIASES,
  RATE_LIMIT_ALGORITHMS,
  RateLimitingTable,
  ROTATION_STRATEGIES,
  CUSTOM_STRATEGY_PATTERN,
  RotationStrategyTable,
  TokenBucketTable,
} from './pool'
export {
  CircuitBreakerTable,
  CooldownTable,
  Echelon,
  GROUP_FALLBACK_STRATEGIES,
  GroupFallbackTable,
  TaskGroup,
  TaskGroupFile,
  TaskGroupMetricsTable,
} from './task-group'
export {
  CacheTable,
  ErrorHandlingTable,
  LOG_LEVELS,
  LoggingTable,
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
