import Type, { type Static } from 'typebox'
import { Count, Flag, Name, NAME_PATTERN, OneOf, Seconds } from './common'

export const WRAPPER_TYPES = ['pool', 'task_group'] as const
export const RETRYABLE_ERRORS = ['timeout', 'rate_limit', 'network_error', 'server_error', 'overloaded'] as const
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export const TOOL_SELECTION_STRATEGIES = ['auto', 'manual', 'priority'] as const

export const PoolWrapper = Type.Object(
  {
    type: Type.Literal('pool', { description: 'Wraps a pool.' }),
    pool_name: Name('The enabled pool this wrapper serves.'),
    enabled: Flag('Disabled wrappers are not created.', true),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
export type PoolWrapper = Static<typeof PoolWrapper>

export const TaskGroupWrapper = Type.Object(
  {
    type: Type.Literal('task_group', { description: 'Wraps a task group.' }),
    task_group_name: Name('The enabled task group this wrapper serves.'),
    enabled: Flag('Disabled wrappers are not created.', true),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
export type TaskGroupWrapper = Static<typeof TaskGroupWrapper>

/** A wrapper: a pool or a task group presented as one model. Discriminated by `type`. */
export const Wrapper = Type.Union([PoolWrapper, TaskGroupWrapper])
export type Wrapper = Static<typeof Wrapper>

export const ErrorHandling = Type.Object(
  {
    retry_on_errors: Type.Array(OneOf([...RETRYABLE_ERRORS], 'A kind of failure that is retried.'), {
      description: 'Failures retried by the wrapper.',
      default: ['timeout', 'rate_limit', 'network_error'],
    }),
    max_retry_delay: Seconds('Longest wait between retries, in seconds.', 10),
    backoff_factor: Type.Number({ minimum: 1, default: 2, description: 'Each retry waits this many times longer.' }),
  },
  { additionalProperties: false, default: {} },
)
export type ErrorHandling = Static<typeof ErrorHandling>

export const Cache = Type.Object(
  {
    enabled: Flag('Cache responses (LRU).', false),
    max_size: Count('Most cached responses.', 1000),
    ttl: Seconds('Seconds a cached response stays valid.', 300),
  },
  { additionalProperties: false, default: {} },
)
export type Cache = Static<typeof Cache>

export const Logging = Type.Object(
  {
    level: OneOf([...LOG_LEVELS], 'Least severe level logged.', 'info'),
    format: OneOf(['json', 'text'], 'Log line format.', 'json'),
    enable_request_logging: Flag('Log each request (secrets are always redacted).', false),
    enable_response_logging: Flag('Log each response.', false),
  },
  { additionalProperties: false, default: {} },
)
export type Logging = Static<typeof Logging>

const poolWrapperGlobalKeys = {
  default_timeout: Seconds('Seconds one attempt may take, for echelons that set no `timeout`.', 30),
  max_retries: Type.Integer({ minimum: 0, default: 3, description: 'Retries of one instance, for echelons that set no `max_retries`.' }),
  request_timeout: Type.Optional(
    Seconds('Seconds a whole request may take, across retries and fallbacks. Left out: room to walk the chain once.'),
  ),
  enable_metrics: Flag('Collect metrics.', true),
  metrics_interval: Seconds('Seconds per metrics bucket.', 60),
  error_handling: ErrorHandling,
  cache: Cache,
  logging: Logging,
}

/** `[global]` of a pool wrappers file. */
export const PoolWrappersGlobal = Type.Object(poolWrapperGlobalKeys, { additionalProperties: false, default: {} })
export type PoolWrappersGlobal = Static<typeof PoolWrappersGlobal>

/** `[global]` of a task-group wrappers file: inherits the pool wrappers' `[global]` and adds tool calling. */
export const TaskGroupWrappersGlobal = Type.Object(
  {
    ...poolWrapperGlobalKeys,
    function_calling_enabled: Flag('false: a request with tools fails with a clear error.', true),
    tool_selection_strategy: OneOf([...TOOL_SELECTION_STRATEGIES], 'How tools are chosen.', 'auto'),
  },
  { additionalProperties: false, default: {} },
)
export type TaskGroupWrappersGlobal = Static<typeof TaskGroupWrappersGlobal>

const wrapperTable = (schema: typeof PoolWrapper | typeof TaskGroupWrapper | typeof Wrapper) =>
  Type.Record(Type.String({ pattern: NAME_PATTERN }), schema, { description: 'Wrappers by name.', default: {} })

/** A pool wrappers file (`wrappers/pool-wrappers.toml`). */
export const PoolWrappersFile = Type.Object(
  { wrappers: wrapperTable(Wrapper), global: PoolWrappersGlobal },
  { additionalProperties: false, title: 'llmpool pool wrappers file' },
)
export type PoolWrappersFile = Static<typeof PoolWrappersFile>

/** A task-group wrappers file (`wrappers/task-group-wrappers.toml`): every wrapper in it has `type = "task_group"`. */
export const TaskGroupWrappersFile = Type.Object(
  { wrappers: wrapperTable(TaskGroupWrapper), global: TaskGroupWrappersGlobal },
  { additionalProperties: false, title: 'llmpool task-group wrappers file' },
)
export type TaskGroupWrappersFile = Static<typeof TaskGroupWrappersFile>
