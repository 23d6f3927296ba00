import Type, { type Static } from 'typebox'
import { Count, Flag, Metadata, Name, OneOf, Seconds } from './common'

export const ROTATION_STRATEGIES = ['round_robin', 'random', 'weighted', 'least_connections'] as const
export const POOL_FALLBACK_STRATEGIES = ['instance_rotation', 'pool_fallback'] as const
export const RATE_LIMIT_ALGORITHMS = ['token_bucket', 'fixed_window'] as const

/** A rotation strategy registered in code (`new Router({ strategies: { NAME: ... } })`), chosen with `custom:NAME`. */
export const CUSTOM_STRATEGY_PATTERN = '^custom:[A-Za-z][A-Za-z0-9_-]*$'

export const RotationStrategy = Type.Object(
  {
    type: Type.Union(
      [
        Type.Enum([...ROTATION_STRATEGIES]),
        Type.Unsafe<`custom:${string}`>({ type: 'string', pattern: CUSTOM_STRATEGY_PATTERN }),
      ],
      {
        description: 'How a request picks an instance of the pool; `custom:NAME` for a strategy registered in code.',
        default: 'round_robin',
      },
    ),
    options: Type.Object(
      {
        weights: Type.Record(Type.String(), Type.Number({ minimum: 0 }), {
          description: 'For `weighted`: weight per `task_group.echelon`.',
          default: {},
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
)
export type RotationStrategy = Static<typeof RotationStrategy>

export const HealthCheck = Type.Object(
  {
    interval: Seconds('Seconds between active health probes of each instance.', 30),
    failure_threshold: Count('Consecutive failures that mark an instance unhealthy.', 3),
    recovery_time: Seconds('Seconds an unhealthy instance stays out of rotation.', 60),
  },
  { additionalProperties: false, default: {} },
)
export type HealthCheck = Static<typeof HealthCheck>

export const PoolFallback = Type.Object(
  {
    strategy: OneOf([...POOL_FALLBACK_STRATEGIES], 'What a failed request tries next.', 'instance_rotation'),
    max_instance_attempts: Count('Instances tried before the pool gives up (or falls back to other pools).', 2),
    fallback_pools: Type.Array(Name('An enabled pool'), {
      description: 'For `pool_fallback`: pools tried in order after this one.',
      default: [],
    }),
    hedge_after: Type.Optional(
      Seconds('Hedging: after this many seconds without an answer, the next instance is called too; the first answer wins.'),
    ),
  },
  { additionalProperties: false, default: {} },
)
export type PoolFallback = Static<typeof PoolFallback>

export const TokenBucket = Type.Object(
  {
    bucket_size: Count('Most requests admitted in a burst.'),
    refill_rate: Type.Number({ exclusiveMinimum: 0, description: 'Tokens added per second.' }),
  },
  { additionalProperties: false },
)
export type TokenBucket = Static<typeof TokenBucket>

export const FixedWindow = Type.Object(
  {
    window_size: Seconds('Window length in seconds.'),
    max_requests: Count('Requests admitted per window.'),
  },
  { additionalProperties: false },
)
export type FixedWindow = Static<typeof FixedWindow>

export const RateLimiting = Type.Object(
  {
    enabled: Flag('Admit requests to the pool through the limiter below.', false),
    algorithm: OneOf([...RATE_LIMIT_ALGORITHMS], 'Which of the tables below applies.', 'token_bucket'),
    token_bucket: Type.Optional(TokenBucket),
    fixed_window: Type.Optional(FixedWindow),
  },
  { additionalProperties: false, default: {} },
)
export type RateLimiting = Static<typeof RateLimiting>

export const PoolMetrics = Type.Object(
  {
    enabled: Flag('Collect metrics for this pool.', true),
    interval: Seconds('Seconds per metrics bucket.', 60),
    retention_period: Seconds('Seconds metrics are kept.', 86400),
  },
  { additionalProperties: false, default: {} },
)
export type PoolMetrics = Static<typeof PoolMetrics>

/** `[pool]`, as resolved: after inheritance, with every default filled in. */
export const Pool = Type.Object(
  {
    name: Name('Name of the pool; equals its key in `_registry.toml`.'),
    description: Type.Optional(Type.String({ description: 'What the pool is for.' })),
    inherits_from: Type.Optional(
      Type.String({ minLength: 1, description: 'A table of this file, or another registered pool, to inherit from.' }),
    ),
    task_groups: Type.Array(Name('An enabled task group'), {
      minItems: 1,
      description: 'Task groups whose instances this pool routes to, in order of preference.',
    }),
    rotation_strategy: RotationStrategy,
    health_check: HealthCheck,
    fallback: PoolFallback,
    rate_limiting: RateLimiting,
    metrics: PoolMetrics,
    metadata: Metadata,
  },
  { additionalProperties: false },
)
export type Pool = Static<typeof Pool>

/**
 * Flat keys of the design document's inheritance example (`[base_pool]`), accepted in `[pool]` and in base tables
 * as aliases of the `[pool.health_check]` keys; the resolved pool holds only the nested form.
 */
export const POOL_KEY_ALIASES = {
  health_check_interval: 'health_check.interval',
  failure_threshold: 'health_check.failure_threshold',
  recovery_time: 'health_check.recovery_time',
} as const

/** A pool file: `[pool]`, plus any tables that `inherits_from` names. */
export const PoolFile = Type.Object(
  { pool: Pool },
  {
    additionalProperties: Type.Object({}, { description: 'A base table that `inherits_from` names.' }),
    title: 'llmpool pool file',
  },
)
export type PoolFile = Static<typeof PoolFile>
