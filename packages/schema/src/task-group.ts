import Type, { type Static } from 'typebox'
import { Count, Flag, HedgeAfter, Metadata, MODEL_ID_PATTERN, Name, NAME_PATTERN, OneOf, Seconds } from './common'

export const GROUP_FALLBACK_STRATEGIES = ['echelon_down', 'group_fallback'] as const

/** One tier of a task group: models of similar quality that share limits and settings. */
export const Echelon = Type.Object(
  {
    models: Type.Array(
      Type.String({ pattern: MODEL_ID_PATTERN, description: 'A model id, `provider:model` (e.g. `openai:gpt-4o`).' }),
      {
        minItems: 1,
        description:
          'Models of this echelon, `provider:model`; each is one instance (`group.echelon/provider:model`). Providers: `openai`, `anthropic`, any other name as OpenAI-compatible at `base_url`, or one registered in code.',
      },
    ),
    concurrency_limit: Type.Optional(
      Count('Most calls in flight at once per instance (per key with `api_keys`). Left out: no limit.'),
    ),
    rpm_limit: Type.Optional(
      Count(
        'Most requests per minute per instance (per key with `api_keys`), over a sliding window (docs/limits.md). Left out: no limit.',
      ),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Lower is tried first, in the task group and in every pool that holds it. Left out: the position of the echelon in the file (1, 2, ...).',
      }),
    ),
    timeout: Type.Optional(
      Seconds(
        "Seconds one attempt may take (for a stream: until its first content part). Left out: the wrappers file's `[global] default_timeout`, else 30.",
      ),
    ),
    first_token_timeout: Type.Optional(
      Seconds(
        'Streams: seconds until the first content part, when it should differ from `timeout`. Left out: `timeout`.',
        undefined,
        {
          examples: [10],
        },
      ),
    ),
    max_retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "Retries of one instance of this echelon, within one request, for a failure in `retry_on_errors`. Left out: the wrappers file's `[global] max_retries`, else 3.",
      }),
    ),
    temperature: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 2,
        description: "Sampling temperature, when the caller gives none. Left out: the provider's default.",
      }),
    ),
    max_tokens: Type.Optional(
      Count(
        "Most tokens generated per request, when the caller gives no `maxOutputTokens`. Left out: the provider's default.",
      ),
    ),
    api_key: Type.Optional(
      Type.String({
        description:
          "API key of every model of this echelon, whatever its provider: models that need different keys belong in different echelons. Empty or left out: the provider's own default (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`). A secret: write `${VAR}`; it is never printed.",
      }),
    ),
    api_keys: Type.Optional(
      Type.Array(Type.String({ description: 'One API key.' }), {
        minItems: 1,
        description:
          'Several API keys instead of `api_key` (not both): each key makes its own instance of every model (`provider:model#2`), with its own limits, breaker, health and cooldown. No key empty, none twice.',
        examples: [['${OPENAI_KEY_A}', '${OPENAI_KEY_B}']],
      }),
    ),
    base_url: Type.Optional(
      Type.String({
        description:
          "Base URL of the API for every model of this echelon, whatever its provider; a URL without a path gets `/v1`. Empty or left out: the provider's own default (`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, else the public API).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'One echelon (tier) of the task group, by name: models of similar quality that share limits, timeouts and credentials. Each model of it is one instance, with its own breaker, health, limits and cooldown.',
  },
)
export type Echelon = Static<typeof Echelon>

export const CircuitBreakerTable = Type.Object(
  {
    failure_threshold: Count(
      'Counted failures in a row that open the breaker of an instance (docs/breaker.md says which count).',
      5,
    ),
    recovery_time: Seconds('Seconds an open breaker refuses calls before trial calls.', 60),
    half_open_requests: Count('Trial calls at once while half-open, and the successes needed to close.', 1),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'One circuit breaker per instance of the group (docs/breaker.md).',
  },
)
export type CircuitBreakerTable = Static<typeof CircuitBreakerTable>

export const GroupFallbackTable = Type.Object(
  {
    strategy: OneOf(
      [...GROUP_FALLBACK_STRATEGIES],
      'The chain a request walks: `echelon_down`, the best echelon, then `fallback_groups` in order (or, when empty, the other echelons by priority); `group_fallback`, every echelon by priority, then `fallback_groups`.',
      'echelon_down',
    ),
    fallback_groups: Type.Array(
      Type.String({ minLength: 1, description: 'A task group, or `task_group.echelon`; enabled.' }),
      {
        description:
          "Entries tried in order after the group's own: `group.echelon` names one echelon, `group` all of that group's echelons by priority; each enabled, none twice.",
        default: [],
      },
    ),
    max_attempts: Count('Instances one request may try along the chain.', 3),
    retry_delay: Type.Number({
      minimum: 0,
      default: 1,
      description: 'Seconds a request waits before it moves down to the next echelon of the chain.',
    }),
    hedge_after: HedgeAfter,
  },
  {
    additionalProperties: false,
    default: {},
    description: 'The chain of echelons a request to the group walks (docs/routing.md).',
  },
)
export type GroupFallbackTable = Static<typeof GroupFallbackTable>

/** How long an instance rests after its upstream said "not now" (429, 529) or "not you" (401, 403, quota). */
export const CooldownTable = Type.Object(
  {
    default_time: Seconds('Seconds an instance rests after a 429 or 529 that gives no retry time.', 5, {
      examples: [10],
    }),
    max_time: Seconds(
      'Longest rest in seconds, whatever the upstream asks; also the rest of an instance whose key was refused (401, 403) or is out of quota.',
      300,
      { examples: [120] },
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'How long an instance rests (is skipped, without counting a failure) after its upstream said "not now" (429, 529) or "not you" (401, 403, quota). An llmpool key: the design document has no such table.',
  },
)
export type CooldownTable = Static<typeof CooldownTable>

export const TaskGroupMetricsTable = Type.Object(
  {
    enabled: Flag("Collect metrics for this task group (`router.metrics`, the gateway's `/metrics`).", true),
    collection_interval: Seconds('Seconds per metrics bucket.', 60),
  },
  { additionalProperties: false, default: {}, description: 'Metrics of requests to the task group.' },
)
export type TaskGroupMetricsTable = Static<typeof TaskGroupMetricsTable>

/** `[task_group]`, as resolved: after inheritance, with every default filled in. */
export const TaskGroup = Type.Object(
  {
    name: Name('Name of the task group; must equal its key in `_registry.toml`. Never inherited.'),
    description: Type.Optional(Type.String({ description: 'What the task group is for; not interpreted.' })),
    inherits_from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A table of this file or another registered task group (enabled or not) to inherit from: tables merge key by key, this file wins, arrays replace. With it, every key may come from the base.',
        examples: ['base_group'],
      }),
    ),
    fallback_strategy: OneOf(
      [...GROUP_FALLBACK_STRATEGIES],
      'The same setting as `fallback.strategy` (the design document writes both): either may be given; when both are, they must agree.',
      'echelon_down',
    ),
    circuit_breaker: CircuitBreakerTable,
    cooldown: CooldownTable,
    fallback: GroupFallbackTable,
    echelons: Type.Record(Type.String({ pattern: NAME_PATTERN }), Echelon, {
      minProperties: 1,
      description: 'Echelons (tiers) by name: `[task_group.echelons.NAME]`; at least one.',
    }),
    metrics: TaskGroupMetricsTable,
    metadata: Metadata,
  },
  {
    additionalProperties: false,
    description:
      'A task group: echelons (tiers) of models, tried from the best down, with one circuit breaker and cooldown rule per instance. Called by its own name, through a wrapper, or as a source of instances for pools.',
  },
)
export type TaskGroup = Static<typeof TaskGroup>

/** A task-group file: `[task_group]`, plus any tables that `inherits_from` names. */
export const TaskGroupFile = Type.Object(
  { task_group: TaskGroup },
  {
    additionalProperties: Type.Object({}, { description: 'A base table that `inherits_from` names.' }),
    title: 'llmpool task group file',
    description:
      'A task-group file (`task-groups/NAME.toml`): `[task_group]`, and the base tables its `inherits_from` chain names.',
  },
)
export type TaskGroupFile = Static<typeof TaskGroupFile>
