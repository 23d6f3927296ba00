import { randomBytes } from 'node:crypto'
import type {
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3Usage,
  SharedV3ProviderMetadata,
} from '@ai-sdk/provider'

/** Anthropic's `stop_reason` values. */
export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal'

/** Anthropic's `usage` object. */
export interface MessageUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
}

/** A message id in Anthropic's form: `msg_` and 24 random characters. */
export const messageId = () => `msg_${randomBytes(18).toString('base64url')}`

/**
 * The AI SDK's finish reason as Anthropic's `stop_reason` and `stop_sequence`. The unified reason says which kind;
 * only an Anthropic upstream tells a stop sequence (raw `stop_sequence`, and which one in its provider metadata) or
 * a paused turn apart from a plain end, so an OpenAI-compatible upstream's `stop` is always `end_turn`.
 */
export function stopReason(
  reason: LanguageModelV3FinishReason | undefined,
  metadata?: SharedV3ProviderMetadata,
): { stop_reason: StopReason; stop_sequence: string | null } {
  switch (reason?.unified) {
    case 'tool-calls':
      return { stop_reason: 'tool_use', stop_sequence: null }
    case 'length':
      return { stop_reason: 'max_tokens', stop_sequence: null }
    case 'content-filter':
      return { stop_reason: 'refusal', stop_sequence: null }
    default:
      break
  }
  if (reason?.raw === 'stop_sequence') {
    const sequence = metadata?.anthropic?.stopSequence
    return { stop_reason: 'stop_sequence', stop_sequence: typeof sequence === 'string' ? sequence : null }
  }
  return { stop_reason: reason?.raw === 'pause_turn' ? 'pause_turn' : 'end_turn', stop_sequence: null }
}

/**
 * The AI SDK's usage as Anthropic counts it: `input_tokens` are the tokens not read from or written to the prompt
 * cache (the AI SDK's `total` includes both).
 */
export function messageUsage(usage: LanguageModelV3Usage | undefined): MessageUsage {
  const input = usage?.inputTokens
  const cacheRead = input?.cacheRead ?? 0
  const cacheWrite = input?.cacheWrite ?? 0
  return {
    input_tokens: input?.noCache ?? Math.max(0, (input?.total ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.outputTokens.total ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  }
}

/**
 * A tool call's input (JSON text) as the object Anthropic's `tool_use.input` must be. An upstream that wrote
 * something else (rare, OpenAI-compatible servers only) gets `{}`, as Anthropic's clients cannot read anything else.
 */
export function toolInput(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json === '' ? '{}' : json)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }

/**
 * A Messages API `message` object from a generate result, under the model name the client asked for. Text and tool
 * calls become `text` and `tool_use` blocks; reasoning is left out (the gateway does not take `thinking`), and so are
 * tool calls the upstream ran itself.
 */
export function toAnthropicMessage(result: LanguageModelV3GenerateResult, model: string, id = messageId()) {
  const content: ContentBlock[] = []
  for (const part of result.content) {
    if (part.type === 'text' && part.text !== '') content.push({ type: 'text', text: part.text })
    else if (part.type === 'tool-call' && part.providerExecuted !== true)
      content.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input: toolInput(part.input) })
  }
  return {
    id,
    type: 'message' as const,
    role: 'assistant' as const,
    model,
    content,
    ...stopReason(result.finishReason, result.providerMetadata),
    usage: messageUsage(result.usage),
  }
}
