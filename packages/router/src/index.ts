export { Router } from './router'
export type {
  InstanceState,
  RoutedGenerateResult,
  RoutedStreamResult,
  RouteOptions,
  RouterOptions,
  Routing,
  TracerProviderLike,
} from './router-options'
export {
  AllAttemptsFailedError,
  type AttemptRecord,
  EmbeddingsUnsupportedError,
  InvalidRequestError,
  LocalFailureError,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  RouterError,
  type RouterErrorCode,
  UnknownProviderError,
  UnknownTargetError,
} from './errors'
export type { RouterEvent, RouterEventListener } from './events'
export type { EmbedCall, RoutedEmbedResult } from './embed'
export {
  anthropicProvider,
  apiRoot,
  defaultApiRoot,
  openAICompatibleProvider,
  openAIProvider,
  type OpenAIProviderOptions,
  type ProviderDefinition,
  type ProviderModelSettings,
} from './providers'
export {
  type InstanceView,
  leastConnections,
  randomOrder,
  roundRobin,
  type RotationContext,
  type RotationStrategy,
  type RotationStrategyFactory,
  weighted,
} from './strategies/index'
export { StreamInterruptedError } from './stream'
export { onAbort } from './attempt-signal'
export { type MetricsSnapshot, RouterMetrics, type SeriesFigures } from './metrics'
export { LATENCY_BUCKETS_MS } from './histogram'
export { compilePlan, type PlanOverrides } from './plan/compile'
export { type CandidateJSON, type EntryJSON, type InstanceJSON, planToJSON, type Sourced } from './plan/to-json'
export type {
  CandidatePlan,
  EntryPlan,
  EntryServices,
  GroupRoutePlan,
  InstancePlan,
  PoolRoutePlan,
  PoolSettings,
  PoolStagePlan,
  RetryPlan,
  RoutePlan,
  RoutingPlan,
  Source,
  StepPlan,
} from './plan/types'
export type { CooldownKind, CooldownState } from './runtime/cooldown'
export { type CooldownSharing, type SharedCooldown, sharedCooldowns } from './runtime/cooldown-sharing'
export { UPSTREAM_FAILURE } from './execute/failure'
