import type { LanguageModelV3CallOptions, LanguageModelV3ToolChoice } from '@ai-sdk/provider'
import type { ResolvedConfig, ResolvedWrapper } from '@llmpool/config'
import type { RouterOptions } from '@llmpool/router'
import type { PoolWrappersGlobal, TaskGroupWrappersGlobal } from '@llmpool/schema'
import { FunctionCallingDisabledError } from './errors'

/**
 * The schema defaults of a pool wrappers file's `[global]` (packages/schema/src/wrappers.ts), for configurations
 * without wrapper files.
 */
export const DEFAULT_WRAPPERS_GLOBAL: PoolWrappersGlobal = {
  default_timeout: 30,
  max_retries: 3,
  enable_metrics: true,
  metrics_interval: 60,
  error_handling: { retry_on_errors: ['timeout', 'rate_limit', 'network_error'], max_retry_delay: 10, backoff_factor: 2 },
  cache: { enabled: false, max_size: 1000, ttl: 300 },
  logging: { level: 'info', format: 'json', enable_request_logging: false, enable_response_logging: false },
}

/**
 * The `[global]` that sets the router's options and serves pools and task groups called by their own names: the
 * first pool wrappers file's (the first wrapper of `type = "pool"`), else the first wrapper's, else the defaults.
 * See docs/decisions/0008-wrapper-globals.md.
 */
export function routerGlobal(config: ResolvedConfig): PoolWrappersGlobal {
  const wrappers = Object.values(config.wrappers)
  return (wrappers.find((wrapper) => wrapper.type === 'pool') ?? wrappers[0])?.global ?? DEFAULT_WRAPPERS_GLOBAL
}

/** The router options a `[global]` sets. TOML snake_case seconds become camelCase milliseconds here, and only here. */
export function routerOptionsFrom(global: PoolWrappersGlobal): Partial<RouterOptions> {
  return {
    requestTimeoutMs: global.default_timeout * 1000,
    // max_retries: retries of a call through the wrapper, i.e. at most 1 + max_retries upstream calls, across
    // retries and fallbacks.
    attemptBudget: global.max_retries + 1,
    retryOn: [...global.error_handling.retry_on_errors],
    retry: { maxRetryDelayMs: global.error_handling.max_retry_delay * 1000, backoffFactor: global.error_handling.backoff_factor },
    cache: global.cache.enabled ? { maxSize: global.cache.max_size, ttlMs: global.cache.ttl * 1000 } : false,
    metrics: global.enable_metrics,
  }
}

/** What a call through one name does, read from the configuration in force at the time of the call. */
export interface CallSettings {
  /** The pool or task group the router is asked for. */
  target: string
  /** The wrapper's name, or the pool's / task group's when called by its own name. */
  name: string
  global: PoolWrappersGlobal | TaskGroupWrappersGlobal
}

export function callSettings(name: string, wrapper: ResolvedWrapper | undefined, config: ResolvedConfig): CallSettings {
  if (wrapper) return { name, target: wrapper.type === 'pool' ? wrapper.pool_name : wrapper.task_group_name, global: wrapper.global }
  return { name, target: name, global: routerGlobal(config) }
}

function isTaskGroupGlobal(global: PoolWrappersGlobal | TaskGroupWrappersGlobal): global is TaskGroupWrappersGlobal {
  return 'tool_selection_strategy' in global
}

/**
 * Applies `function_calling_enabled` and `tool_selection_strategy` to a call. The AI SDK sends `{ type: 'auto' }`
 * whenever the caller gave tools and no `toolChoice`, so `auto` counts as "not chosen":
 *
 * - `auto`: the call as given;
 * - `manual`: the model never picks a tool on its own: `auto` becomes `none`; `required`, a named tool and `none`
 *   are used as given;
 * - `priority`: tools first: `auto` becomes `required` while the conversation ends with a user message (once tool
 *   results are back, `auto`, so the model can answer); `required`, a named tool and `none` are used as given.
 */
export function applyToolSettings(call: LanguageModelV3CallOptions, settings: CallSettings): LanguageModelV3CallOptions {
  const tools = call.tools ?? []
  if (tools.length === 0 || !isTaskGroupGlobal(settings.global)) return call
  if (!settings.global.function_calling_enabled) throw new FunctionCallingDisabledError(settings.name, tools.map((tool) => tool.name))
  const given: LanguageModelV3ToolChoice = call.toolChoice ?? { type: 'auto' }
  if (given.type !== 'auto') return call
  switch (settings.global.tool_selection_strategy) {
    case 'manual':
      return { ...call, toolChoice: { type: 'none' } }
    case 'priority':
      return call.prompt[call.prompt.length - 1]?.role === 'user' ? { ...call, toolChoice: { type: 'required' } } : { ...call, toolChoice: given }
    default:
      return { ...call, toolChoice: given }
  }
}

/** `providerOptions.llmpool.timeoutMs` of one call overrides the wrapper's `default_timeout`. */
export function timeoutOf(call: LanguageModelV3CallOptions, settings: CallSettings): number {
  const own = call.providerOptions?.llmpool?.timeoutMs
  return typeof own === 'number' && own > 0 ? own : settings.global.default_timeout * 1000
}
