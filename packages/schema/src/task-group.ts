import Type, { type Static } from 'typebox'
import { Count, Flag, Metadata, MODEL_ID_PATTERN, Name, NAME_PATTERN, OneOf, Seconds } from './common'

export const GROUP_FALLBACK_STRATEGIES = ['echelon_down', 'group_fallback'] as const

/** One tier of a task group: models of similar quality that share limits and settings. */
export const Echelon = Type.Object(
  {
    models: Type.Array(
      Type.String({ pattern: MODEL_ID_PATTERN, description: 'A model id, `provider:model` (e.g. `openai:gpt-4o`).' }),
      { minItems: 1, description: 'Models of this echelon; each is one instance.' },
    ),
    concurrency_limit: Type.Optional(Count('Most requests in flight at once per instance; no limit when left out.')),
    rpm_limit: Type.Optional(Count('Most requests per minute per instance (sliding); no limit when left out.')),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Lower is tried first. When left out: the position of the echelon in the file (1, 2, ...).',
      }),
    ),
    timeout: Type.Optional(
      Seconds(
        'Seconds one attempt may take (for a stream: until its first content part). Left out: the wrappers file\'s `[global] default_timeout`, else 30.',
      ),
    ),
    first_token_timeout: Type.Optional(
      Seconds('Streams: seconds until the first content part, when it should differ from `timeout`.'),
    ),
    max_retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "Retries of one instance of this echelon for a failure that retrying may cure. Left out: the wrappers file's `[global] max_retries`, else 3.",
      }),
    ),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2, description: 'Sampling temperature, 0 to 2.' })),
    max_tokens: Type.Optional(Count('Most tokens generated per request.')),
    api_key: Type.Optional(
      Type.String({ description: "API key for this echelon's models; empty or left out: the provider's own default." }),
    ),
    api_keys: Type.Optional(
      Type.Array(Type.String({ description: 'One API key.' }), {
        minItems: 1,
        description:
          'Several API keys instead of `api_key`: each key makes its own instance of every model (`model#2`), with its own limits, breaker, health and cooldown.',
      }),
    ),
    base_url: Type.Optional(
      Type.String({ description: "Base URL of the provider's API; empty or left out: the provider's own default." }),
    ),
  },
  { additionalProperties: false },
)
export type Echelon = Static<typeof Echelon>

export const CircuitBreaker = Type.Object(
  {
    failure_threshold: Count('Consecutive counted failures that open the breaker.', 5),
    recovery_time: Seconds('Seconds the breaker stays open before trial calls.', 60),
    half_open_requests: Count('Trial calls allowed at once while half-open.', 1),
  },
  { additionalProperties: false, default: {} },
)
export type CircuitBreaker = Static<typeof CircuitBreaker>

export const GroupFallback = Type.Object(
  {
    strategy: OneOf([...GROUP_FALLBACK_STRATEGIES], 'Where a failed request goes next.', 'echelon_down'),
    fallback_groups: Type.Array(
      Type.String({ minLength: 1, description: 'A task group, or `task_group.echelon`; enabled.' }),
      { description: 'Echelons or task groups tried in order after the first one fails.', default: [] },
    ),
    max_attempts: Count('Most attempts of one request across echelons and groups.', 3),
    retry_delay: Type.Number({ minimum: 0, default: 1, description: 'Seconds between fallback steps.' }),
    hedge_after: Type.Optional(
      Seconds('Hedging: after this many seconds without an answer, the next instance is called too; the first answer wins.'),
    ),
  },
  { additionalProperties: false, default: {} },
)
export type GroupFallback = Static<typeof GroupFallback>

/** How long an instance rests after its upstream said "not now" (429, 529) or "not you" (401, 403, quota). */
export const Cooldown = Type.Object(
  {
    default_time: Seconds('Seconds an instance rests after a 429 or 529 that gives no retry time.', 5),
    max_time: Seconds(
      'Longest rest in seconds, whatever the upstream asks; also the rest of an instance whose key was refused (401, 403) or is out of quota.',
      300,
    ),
  },
  { additionalProperties: false, default: {} },
)
export type Cooldown = Static<typeof Cooldown>

export const TaskGroupMetrics = Type.Object(
  {
    enabled: Flag('Collect metrics for this task group.', true),
    collection_interval: Seconds('Seconds per metrics bucket.', 60),
  },
  { additionalProperties: false, default: {} },
)
export type TaskGroupMetrics = Static<typeof TaskGroupMetrics>

/** `[task_group]`, as resolved: after inheritance, with every default filled in. */
export const TaskGroup = Type.Object(
  {
    name: Name('Name of the task group; equals its key in `_registry.toml`.'),
    description: Type.Optional(Type.String({ description: 'What the task group is for.' })),
    inherits_from: Type.Optional(
      Type.String({ minLength: 1, description: 'A table of this file, or another registered task group, to inherit from.' }),
    ),
    fallback_strategy: OneOf(
      [...GROUP_FALLBACK_STRATEGIES],
      'Same as `fallback.strategy` (the document writes both); when both are given they must agree.',
      'echelon_down',
    ),
    circuit_breaker: CircuitBreaker,
    cooldown: Cooldown,
    fallback: GroupFallback,
    echelons: Type.Record(Type.String({ pattern: NAME_PATTERN }), Echelon, {
      minProperties: 1,
      description: 'Echelons (tiers) by name.',
    }),
    metrics: TaskGroupMetrics,
    metadata: Metadata,
  },
  { additionalProperties: false },
)
export type TaskGroup = Static<typeof TaskGroup>

/** A task-group file: `[task_group]`, plus any tables that `inherits_from` names. */
export const TaskGroupFile = Type.Object(
  { task_group: TaskGroup },
  {
    additionalProperties: Type.Object({}, { description: 'A base table that `inherits_from` names.' }),
    title: 'llmpool task group file',
  },
)
export type TaskGroupFile = Static<typeof TaskGroupFile>
