export { CircuitBreaker } from './circuit-breaker'
export { type BreakerOptions, breakerOptionsFromConfig, type RecoveryBackoff } from './options'
export type {
  Breaker,
  BreakerPermit,
  BreakerSnapshot,
  CircuitState,
  RestoreOptions,
  StateChange,
  StateChangeListener,
  StateChangeReason,
  TrialCoordinator,
  TrialRound,
} from './types'
export { type BrokenCircuitCode, BrokenCircuitError } from './broken-circuit-error'
export { TrialTimeoutError } from './trial-timeout-error'
export { classifyFailure, FAILURE_KINDS, type FailureKind } from './classify-failure'
export { statusOf } from './status-of'
export { COUNTED_FAILURE_KINDS, countFailureKinds, defaultIsFailure } from './is-failure'
export {
  createRedisBreakerGroup,
  type RedisBreakerGroup,
  type RedisBreakerGroupOptions,
  type ShareableBreaker,
} from './redis-breaker-group'
export type { RedisClientLike } from './redis-client'
export { type SharedBreakerState, shareBreakerState, type ShareBreakerStateOptions } from './share-breaker-state'
export type { CooldownKind, CooldownSharing, SharedCooldown } from './cooldown-sharing'
export { createRedisCooldowns, type RedisCooldowns, type RedisCooldownsOptions } from './redis-cooldowns'
