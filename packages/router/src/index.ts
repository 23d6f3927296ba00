export {
  DEFAULT_RETRY_ON,
  type InstanceState,
  type RoutedGenerateResult,
  type RoutedStreamResult,
  type RouteOptions,
  Router,
  type RouterOptions,
  type Routing,
} from './router'
export {
  AllAttemptsFailedError,
  type AttemptRecord,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  RouterError,
  type RouterErrorCode,
  UnknownTargetError,
} from './errors'
export type { RouterEvent, RouterEventListener } from './events'
export {
  anthropicProvider,
  apiRoot,
  openAICompatibleProvider,
  openAIProvider,
  type OpenAIProviderOptions,
  type ProviderDefinition,
  type ProviderModelSettings,
} from './providers'
export {
  builtInStrategies,
  type InstanceView,
  leastConnections,
  randomOrder,
  roundRobin,
  type RotationContext,
  type RotationStrategy,
  type RotationStrategyFactory,
  weighted,
} from './strategies/index'
export { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, retryAfterMs } from './retry'
export { StreamInterruptedError } from './stream'
export { onAbort } from './attempt-signal'
export { type CacheSettings, ResponseCache } from './cache'
export { Counters, type MetricsSettings, type MetricsSnapshot, RouterMetrics } from './metrics'
export { Histogram, LATENCY_BUCKETS_MS } from './histogram'
