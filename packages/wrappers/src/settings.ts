import type { LanguageModelV3CallOptions, LanguageModelV3ToolChoice } from '@ai-sdk/provider'
import type { EntryPlan } from '@llmpool/router'
import { FunctionCallingDisabledError } from './errors'

/**
 * Applies an entry's `function_calling_enabled` and `tool_selection_strategy` (task-group wrappers) to a call. The
 * AI SDK sends `{ type: 'auto' }` whenever the caller gave tools and no `toolChoice`, so `auto` counts as "not
 * chosen":
 *
 * - `auto`: the call as given;
 * - `manual`: the model never picks a tool on its own: `auto` becomes `none`; `required`, a named tool and `none`
 *   are used as given;
 * - `priority`: tools first: `auto` becomes `required` while the conversation ends with a user message (once tool
 *   results are back, `auto`, so the model can answer); `required`, a named tool and `none` are used as given.
 *
 * Pool wrappers, pools and task groups called by their own names pass the call through.
 */
export function applyToolSettings(call: LanguageModelV3CallOptions, entry: EntryPlan): LanguageModelV3CallOptions {
  const tools = call.tools ?? []
  const policy = entry.services.tools
  if (tools.length === 0 || !policy) return call
  if (!policy.enabled)
    throw new FunctionCallingDisabledError(
      entry.name,
      tools.map((tool) => tool.name),
    )
  const given: LanguageModelV3ToolChoice = call.toolChoice ?? { type: 'auto' }
  if (given.type !== 'auto') return call
  switch (policy.selection) {
    case 'manual':
      return { ...call, toolChoice: { type: 'none' } }
    case 'priority':
      return call.prompt[call.prompt.length - 1]?.role === 'user'
        ? { ...call, toolChoice: { type: 'required' } }
        : { ...call, toolChoice: given }
    default:
      return call.toolChoice === undefined ? call : { ...call, toolChoice: given }
  }
}

/** `providerOptions.llmpool.timeoutMs` of one call: its own deadline, instead of the entry's request deadline. */
export function timeoutOf(call: LanguageModelV3CallOptions): number | undefined {
  const own = call.providerOptions?.llmpool?.timeoutMs
  return typeof own === 'number' && own > 0 ? own : undefined
}
