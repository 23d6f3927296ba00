import Type, { type Static } from 'typebox'
import { Count, Flag, HedgeAfter, Metadata, Name, OneOf, Seconds } from './common'

export const ROTATION_STRATEGIES = ['round_robin', 'random', 'weighted', 'least_connections'] as const
export const POOL_FALLBACK_STRATEGIES = ['instance_rotation', 'pool_fallback'] as const
export const RATE_LIMIT_ALGORITHMS = ['token_bucket', 'fixed_window'] as const

/** A rotation strategy registered in code (`new Router({ strategies: { NAME: ... } })`), chosen with `custom:NAME`. */
export const CUSTOM_STRATEGY_PATTERN = '^custom:[A-Za-z][A-Za-z0-9_-]*$'

export const RotationStrategyTable = Type.Object(
  {
    type: Type.Union(
      [
        Type.Enum([...ROTATION_STRATEGIES]),
        Type.Unsafe<`custom:${string}`>({ type: 'string', pattern: CUSTOM_STRATEGY_PATTERN }),
      ],
      {
        description:
          'How a request picks an instance within a tier of the pool: `round_robin` (in turn), `random`, `least_connections` (fewest calls in flight), `weighted` (by `options.weights`), or `custom:NAME` for a strategy registered in code (`new Router({ strategies })`).',
        default: 'round_robin',
      },
    ),
    options: Type.Object(
      {
        weights: Type.Record(Type.String(), Type.Number({ minimum: 0 }), {
          description:
            'For `weighted`: a weight per echelon, `"task_group.echelon" = weight`, shared evenly by the echelon\'s instances; the group must be in this pool. The weighted echelons form the first tier, whatever their priority. An echelon left out gets weight 0: it serves only when no weighted instance can, by priority. Empty: priority tiers with equal weights.',
          default: {},
        }),
      },
      { additionalProperties: false, default: {}, description: 'Options of the rotation strategy.' },
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'How a request picks an instance of the pool (docs/routing.md).',
  },
)
export type RotationStrategyTable = Static<typeof RotationStrategyTable>

export const HealthCheckTable = Type.Object(
  {
    interval: Seconds(
      'Seconds between active health probes (`GET {base_url}/models`) of each instance. A task group in several pools is probed as often as the strictest asks.',
      30,
    ),
    failure_threshold: Count('Failures in a row that mark an instance unhealthy (out of rotation).', 3),
    recovery_time: Seconds('Seconds an unhealthy instance stays out of rotation before it is tried again.', 60),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      "Health of each instance of the pool's task groups: passive (failed calls) and active (probes). The design document's flat `health_check_interval`, `failure_threshold`, `recovery_time` in `[pool]` are aliases of these keys.",
  },
)
export type HealthCheckTable = Static<typeof HealthCheckTable>

export const PoolFallbackTable = Type.Object(
  {
    strategy: OneOf(
      [...POOL_FALLBACK_STRATEGIES],
      'What a failed request tries next: `instance_rotation`, other instances of this pool; `pool_fallback`, then the `fallback_pools` in order.',
      'instance_rotation',
    ),
    max_instance_attempts: Count(
      'Instances one request may try in this pool (each fallback pool has its own). The design document\'s comment reads "attempts per instance"; the retries of one instance are its echelon\'s `max_retries`.',
      2,
    ),
    fallback_pools: Type.Array(Name('An enabled pool'), {
      description:
        'For `pool_fallback`: enabled pools tried in order after this one, each once, never this pool itself.',
      default: [],
    }),
    hedge_after: HedgeAfter,
  },
  {
    additionalProperties: false,
    default: {},
    description: 'What a request does when an instance fails (docs/routing.md).',
  },
)
export type PoolFallbackTable = Static<typeof PoolFallbackTable>

export const TokenBucketTable = Type.Object(
  {
    bucket_size: Count('Most requests admitted in a burst: the bucket holds this many tokens, one per request.'),
    refill_rate: Type.Number({ exclusiveMinimum: 0, description: 'Tokens added per second (1000 a minute: 16.67).' }),
  },
  {
    additionalProperties: false,
    description: 'For `algorithm = "token_bucket"`: bursts up to a size, then a steady rate.',
  },
)
export type TokenBucketTable = Static<typeof TokenBucketTable>

export const FixedWindowTable = Type.Object(
  {
    window_size: Seconds('Window length in seconds.'),
    max_requests: Count('Requests admitted per window.'),
  },
  {
    additionalProperties: false,
    description: 'For `algorithm = "fixed_window"`: at most `max_requests` per window of `window_size` seconds.',
  },
)
export type FixedWindowTable = Static<typeof FixedWindowTable>

export const RateLimitingTable = Type.Object(
  {
    enabled: Flag(
      'Admit each request to the pool through the limiter below (the table of its `algorithm` is then required).',
      false,
    ),
    algorithm: OneOf(
      [...RATE_LIMIT_ALGORITHMS],
      'Which of the two tables below applies; the other has no effect (a warning).',
      'token_bucket',
    ),
    token_bucket: Type.Optional(TokenBucketTable),
    fixed_window: Type.Optional(FixedWindowTable),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'Admission to the pool: one token per request before an instance is chosen. The first pool waits for a token (within the deadline); a fallback pool without one is skipped. Per process, or shared through Redis (docs/limits.md).',
  },
)
export type RateLimitingTable = Static<typeof RateLimitingTable>

export const PoolMetricsTable = Type.Object(
  {
    enabled: Flag("Collect metrics for this pool (`router.metrics`, the gateway's `/metrics`).", true),
    interval: Seconds('Seconds per metrics bucket.', 60),
    retention_period: Seconds('Seconds the recent buckets are kept (lifetime totals are kept regardless).', 86400),
  },
  { additionalProperties: false, default: {}, description: 'Metrics of requests to the pool.' },
)
export type PoolMetricsTable = Static<typeof PoolMetricsTable>

/** `[pool]`, as resolved: after inheritance, with every default filled in. */
export const Pool = Type.Object(
  {
    name: Name('Name of the pool; must equal its key in `_registry.toml`. Never inherited.'),
    description: Type.Optional(Type.String({ description: 'What the pool is for; not interpreted.' })),
    inherits_from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A table of this file (`[base_pool]`) or another registered pool (enabled or not) to inherit from: tables merge key by key, this file wins, arrays replace. A base may itself inherit. With it, every key may come from the base.',
        examples: ['base_pool'],
      }),
    ),
    task_groups: Type.Array(Name('An enabled task group'), {
      minItems: 1,
      description:
        'Task groups whose instances this pool routes to, each enabled and listed once. The order is a preference: among instances of equal echelon priority, earlier groups serve first.',
    }),
    rotation_strategy: RotationStrategyTable,
    health_check: HealthCheckTable,
    fallback: PoolFallbackTable,
    rate_limiting: RateLimitingTable,
    metrics: PoolMetricsTable,
    metadata: Metadata,
  },
  {
    additionalProperties: false,
    description:
      'A rotation pool: one name that spreads requests over the instances (echelon × model) of its task groups, with a rotation strategy, health checks, fallback and admission limits.',
  },
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
    description: 'A pool file (`pools/NAME.toml`): `[pool]`, and the base tables its `inherits_from` chain names.',
  },
)
export type PoolFile = Static<typeof PoolFile>
