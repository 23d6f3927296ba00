import Type, { type Static } from 'typebox'
import { Count, Flag, Name, NAME_PATTERN, OneOf, Seconds } from './common'

export const WRAPPER_TYPES = ['pool', 'task_group'] as const
export const RETRYABLE_ERRORS = ['timeout', 'rate_limit', 'network_error', 'server_error', 'overloaded'] as const
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export const TOOL_SELECTION_STRATEGIES = ['auto', 'manual', 'priority'] as const

export const PoolWrapper = Type.Object(
  {
    type: Type.Literal('pool', { description: '`"pool"`: the wrapper serves the pool named by `pool_name`.' }),
    pool_name: Name('The enabled pool this wrapper serves.'),
    enabled: Flag('false: the wrapper is not part of the configuration.', true),
    description: Type.Optional(Type.String({ description: 'What the wrapper is for; not interpreted.' })),
  },
  { additionalProperties: false, description: 'A wrapper of a pool.' },
)
export type PoolWrapper = Static<typeof PoolWrapper>

export const TaskGroupWrapper = Type.Object(
  {
    type: Type.Literal('task_group', {
      description: '`"task_group"`: the wrapper serves the task group named by `task_group_name`.',
    }),
    task_group_name: Name('The enabled task group this wrapper serves.'),
    enabled: Flag('false: the wrapper is not part of the configuration.', true),
    description: Type.Optional(Type.String({ description: 'What the wrapper is for; not interpreted.' })),
  },
  { additionalProperties: false, description: 'A wrapper of a task group.' },
)
export type TaskGroupWrapper = Static<typeof TaskGroupWrapper>

/** A wrapper: a pool or a task group presented as one model. Discriminated by `type`. */
export const Wrapper = Type.Union([PoolWrapper, TaskGroupWrapper], {
  description:
    "A wrapper, by name: a pool or a task group presented as one model. Its name is the model id callers use (the gateway's `model`, `pool.languageModel(NAME)`), and is unique across pools, task groups and wrappers.",
})
export type Wrapper = Static<typeof Wrapper>

export const ErrorHandlingTable = Type.Object(
  {
    retry_on_errors: Type.Array(OneOf([...RETRYABLE_ERRORS], 'A kind of failure that is retried.'), {
      description:
        "Failures retried on the same instance (within its echelon's `max_retries`). A 429 or a timeout is retried only when no other instance may serve.",
      default: ['timeout', 'rate_limit', 'network_error'],
    }),
    max_retry_delay: Seconds(
      'Longest wait before a retry, in seconds; an upstream that asks for a longer wait (`retry-after`) is not waited for.',
      10,
    ),
    backoff_factor: Type.Number({
      minimum: 1,
      default: 2,
      description:
        'Exponential backoff: the n-th retry waits up to 250 ms × factor^(n−1) (random, full jitter), capped by `max_retry_delay`.',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'What is retried on the same instance, and how long a retry waits (docs/routing.md).',
  },
)
export type ErrorHandlingTable = Static<typeof ErrorHandlingTable>

export const CacheTable = Type.Object(
  {
    enabled: Flag('Answer equal calls to the same wrapper from a cache (LRU, in the process).', false),
    max_size: Count('Most cached responses.', 1000),
    ttl: Seconds('Seconds a cached response stays valid.', 300),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'A response cache per wrapper; a stream is cached only when it finished cleanly.',
  },
)
export type CacheTable = Static<typeof CacheTable>

export const LoggingTable = Type.Object(
  {
    level: OneOf([...LOG_LEVELS], 'Least severe level logged.', 'info'),
    format: OneOf(['json', 'text'], 'Log line format.', 'json'),
    enable_request_logging: Flag('Log each request (secrets are always redacted).', false),
    enable_response_logging: Flag('Log each response.', false),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Request and response log lines of the wrappers (through pino).',
  },
)
export type LoggingTable = Static<typeof LoggingTable>

const poolWrapperGlobalKeys = {
  default_timeout: Seconds(
    'Seconds one attempt may take, for echelons that set no `timeout` (per attempt, not per request: see `request_timeout`).',
    30,
  ),
  max_retries: Type.Integer({
    minimum: 0,
    default: 3,
    description:
      'Retries of one instance, for echelons that set no `max_retries` (not a cap on the calls of a request).',
  }),
  request_timeout: Type.Optional(
    Seconds(
      'Seconds a whole request may take, across retries and fallbacks (an llmpool key). Left out: room to walk the chain once, computed per wrapper.',
      undefined,
      { examples: [90] },
    ),
  ),
  enable_metrics: Flag('false: requests through these wrappers are not counted in the metrics.', true),
  metrics_interval: Seconds(
    "Seconds per metrics bucket, as the design document writes it; the router's buckets follow the pools' `[pool.metrics] interval` and the task groups' `collection_interval`.",
    60,
  ),
  error_handling: ErrorHandlingTable,
  cache: CacheTable,
  logging: LoggingTable,
}

/** `[global]` of a pool wrappers file. */
export const PoolWrappersGlobal = Type.Object(poolWrapperGlobalKeys, {
  additionalProperties: false,
  default: {},
  description:
    'Settings of the wrappers of this file. A pool or task group called by its own name, not through a wrapper, gets the defaults, whatever this table says.',
})
export type PoolWrappersGlobal = Static<typeof PoolWrappersGlobal>

/** `[global]` of a task-group wrappers file: inherits the pool wrappers' `[global]` and adds tool calling. */
export const TaskGroupWrappersGlobal = Type.Object(
  {
    ...poolWrapperGlobalKeys,
    function_calling_enabled: Flag(
      'false: a request that offers tools fails with `FunctionCallingDisabledError`.',
      true,
    ),
    tool_selection_strategy: OneOf(
      [...TOOL_SELECTION_STRATEGIES],
      'When the caller leaves the tool choice to the model: `auto`, the model chooses; `manual`, the model picks no tool on its own (the caller names one, or requires one); `priority`, a tool call is required while the conversation ends with a user message.',
      'auto',
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'Settings of the wrappers of this file: what this table sets, else what the `[global]` of the pool wrappers files sets (merged in registry order), else the default. It adds the two tool-calling keys.',
  },
)
export type TaskGroupWrappersGlobal = Static<typeof TaskGroupWrappersGlobal>

const wrapperTable = (schema: typeof PoolWrapper | typeof TaskGroupWrapper | typeof Wrapper) =>
  Type.Record(Type.String({ pattern: NAME_PATTERN }), schema, {
    description: 'Wrappers by name: `[wrappers.NAME]`.',
    default: {},
  })

/** A pool wrappers file (`wrappers/pool-wrappers.toml`). */
export const PoolWrappersFile = Type.Object(
  { wrappers: wrapperTable(Wrapper), global: PoolWrappersGlobal },
  {
    additionalProperties: false,
    title: 'llmpool pool wrappers file',
    description:
      'A wrappers file that is not a task-group wrappers file (`wrappers/pool-wrappers.toml`): it has a wrapper of `type = "pool"`, or none; it may hold task-group wrappers too.',
  },
)
export type PoolWrappersFile = Static<typeof PoolWrappersFile>

/** A task-group wrappers file (`wrappers/task-group-wrappers.toml`): every wrapper in it has `type = "task_group"`. */
export const TaskGroupWrappersFile = Type.Object(
  { wrappers: wrapperTable(TaskGroupWrapper), global: TaskGroupWrappersGlobal },
  {
    additionalProperties: false,
    title: 'llmpool task-group wrappers file',
    description: 'A wrappers file whose wrappers all have `type = "task_group"` (`wrappers/task-group-wrappers.toml`).',
  },
)
export type TaskGroupWrappersFile = Static<typeof TaskGroupWrappersFile>
