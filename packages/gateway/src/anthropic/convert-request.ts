import type {
  JSONSchema7,
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3ToolChoice,
  SharedV3ProviderOptions,
} from '@ai-sdk/provider'
import { HttpError } from '../http-error'
import { checkJsonText } from '../json-guard'
import { fileData, type UserPart, userBlock } from './content-blocks'
import { invalidField } from './errors'

/** The parts of an Anthropic Messages request body the gateway reads; everything else is ignored. */
export interface MessagesRequest {
  /** A wrapper, pool or task group name. */
  model: string
  max_tokens: number
  messages: { role: 'user' | 'assistant'; content: string | Record<string, unknown>[] }[]
  system?: string | { type: 'text'; text: string }[]
  stream?: boolean
  temperature?: number
  top_p?: number
  top_k?: number
  stop_sequences?: string[]
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[]
  tool_choice?: { type: 'auto' | 'any' | 'none' | 'tool'; name?: string; disable_parallel_tool_use?: boolean }
  metadata?: { user_id?: string | null }
}

type AssistantPart = Extract<LanguageModelV3Message, { role: 'assistant' }>['content'][number]
type ToolResultPart = Extract<LanguageModelV3Message, { role: 'tool' }>['content'][number]

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Parses the body and checks its top level (after `checkJsonText`: no deep nesting, no key twice). */
export function parseMessagesBody(text: string): MessagesRequest {
  checkJsonText(text)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'invalid_json', 'the request body is not valid JSON')
  }
  if (!isObject(body))
    throw new HttpError(400, 'invalid_request_error', 'invalid_request', 'the request body must be a JSON object')
  if (typeof body.model !== 'string' || body.model === '')
    throw invalidField('model', 'is required: a wrapper, pool or task group name')
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw invalidField('stream', 'must be a boolean')
  return body as unknown as MessagesRequest
}

/** `system`: a string or a list of text blocks; each block becomes one system message. */
function systemMessages(system: unknown): LanguageModelV3Message[] {
  if (system === undefined || system === null || system === '') return []
  if (typeof system === 'string') return [{ role: 'system', content: system }]
  if (!Array.isArray(system)) throw invalidField('system', 'must be a string or an array of text blocks')
  return system.map((block: unknown, index) => {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string')
      throw invalidField(`system.${index}`, 'must be a text block { type: "text", text }')
    return { role: 'system' as const, content: block.text }
  })
}

/**
 * A `tool_result` block as the AI SDK's tool result. Text-only content (the usual case) becomes one text output, so
 * that an OpenAI-compatible upstream gets plain text rather than serialized blocks; images make it a content output.
 */
function toolResult(block: Record<string, unknown>, where: string, toolName: string): ToolResultPart {
  const content = block.content
  const isError = block.is_error === true
  if (block.is_error !== undefined && typeof block.is_error !== 'boolean')
    throw invalidField(`${where}.is_error`, 'must be a boolean')
  let texts: string[] = []
  const media: ({ type: 'file-data'; data: string; mediaType: string } | { type: 'file-url'; url: string })[] = []
  if (typeof content === 'string') texts = [content]
  else if (Array.isArray(content)) {
    content.forEach((part: unknown, index) => {
      const at = `${where}.content.${index}`
      if (isObject(part) && part.type === 'text') {
        if (typeof part.text !== 'string') throw invalidField(`${at}.text`, 'must be a string')
        texts.push(part.text)
      } else if (isObject(part) && part.type === 'image') {
        const file = fileData(part, at)
        media.push(
          typeof file.data === 'string'
            ? { type: 'file-data', data: file.data, mediaType: file.mediaType }
            : { type: 'file-url', url: file.data.href },
        )
      } else throw invalidField(`${at}.type`, 'must be "text" or "image"')
    })
  } else if (content !== undefined && content !== null)
    throw invalidField(`${where}.content`, 'must be a string or an array of text and image blocks')
  const text = texts.join('\n')
  const base = { type: 'tool-result' as const, toolCallId: block.tool_use_id as string, toolName }
  if (isError) return { ...base, output: { type: 'error-text', value: text } }
  if (media.length === 0) return { ...base, output: { type: 'text', value: text } }
  return {
    ...base,
    output: { type: 'content', value: [...texts.map((value) => ({ type: 'text' as const, text: value })), ...media] },
  }
}

function assistantContent(content: unknown, where: string, toolNames: Map<string, string>): AssistantPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw invalidField(where, 'must be a string or an array of content blocks')
  const parts: AssistantPart[] = []
  content.forEach((block: unknown, index) => {
    const at = `${where}.${index}`
    if (!isObject(block)) throw invalidField(at, 'must be an object')
    switch (block.type) {
      case 'text':
        if (typeof block.text !== 'string') throw invalidField(`${at}.text`, 'must be a string')
        if (block.text !== '') parts.push({ type: 'text', text: block.text })
        return
      case 'tool_use':
        if (typeof block.id !== 'string' || block.id === '')
          throw invalidField(`${at}.id`, 'must be a non-empty string')
        if (typeof block.name !== 'string' || block.name === '')
          throw invalidField(`${at}.name`, 'must be a non-empty string')
        if (!isObject(block.input)) throw invalidField(`${at}.input`, 'must be an object')
        toolNames.set(block.id, block.name)
        parts.push({ type: 'tool-call', toolCallId: block.id, toolName: block.name, input: block.input })
        return
      // The gateway never asks for thinking, so these come only from a transcript made elsewhere; no upstream
      // behind a pool could check another model's signature, so they are left out.
      case 'thinking':
      case 'redacted_thinking':
        return
      default:
        throw invalidField(
          `${at}.type`,
          `"${String(block.type).slice(0, 40)}" is not supported in an assistant message (text, tool_use)`,
        )
    }
  })
  return parts
}

/**
 * A user turn. Its `tool_result` blocks go to AI SDK tool messages and the rest to user messages, in their order
 * (Anthropic puts tool results in the user turn; the AI SDK, like OpenAI, in a turn of their own).
 */
function userMessages(content: unknown, where: string, toolNames: Map<string, string>): LanguageModelV3Message[] {
  if (typeof content === 'string') return [{ role: 'user', content: [{ type: 'text', text: content }] }]
  if (!Array.isArray(content)) throw invalidField(where, 'must be a string or an array of content blocks')
  if (content.length === 0) throw invalidField(where, 'must not be empty')
  const messages: LanguageModelV3Message[] = []
  content.forEach((block: unknown, index) => {
    const at = `${where}.${index}`
    if (!isObject(block)) throw invalidField(at, 'must be an object')
    const last = messages[messages.length - 1]
    if (block.type === 'tool_result') {
      if (typeof block.tool_use_id !== 'string') throw invalidField(`${at}.tool_use_id`, 'must be a string')
      const toolName = toolNames.get(block.tool_use_id)
      // An upstream would refuse the request too, and that refusal would count against its instance.
      if (toolName === undefined) throw invalidField(`${at}.tool_use_id`, 'no earlier tool_use block has this id')
      const part = toolResult(block, at, toolName)
      if (last?.role === 'tool') last.content.push(part)
      else messages.push({ role: 'tool', content: [part] })
      return
    }
    const part: UserPart = userBlock(block, at)
    if (last?.role === 'user') last.content.push(part)
    else messages.push({ role: 'user', content: [part] })
  })
  return messages
}

/** `messages` to the AI SDK prompt; `tool_result` blocks find their tool's name from the earlier `tool_use` blocks. */
export function toPrompt(system: unknown, messages: unknown): LanguageModelV3Message[] {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidField('messages', 'must be a non-empty array')
  const toolNames = new Map<string, string>()
  const prompt = systemMessages(system)
  messages.forEach((message: unknown, index) => {
    const where = `messages.${index}`
    if (!isObject(message)) throw invalidField(where, 'must be an object')
    if (message.role === 'user') prompt.push(...userMessages(message.content, `${where}.content`, toolNames))
    else if (message.role === 'assistant')
      prompt.push({ role: 'assistant', content: assistantContent(message.content, `${where}.content`, toolNames) })
    else
      throw invalidField(
        `${where}.role`,
        'must be "user" or "assistant" (the system prompt goes in the top-level "system")',
      )
  })
  return prompt
}

function tools(value: unknown): LanguageModelV3FunctionTool[] {
  if (!Array.isArray(value)) throw invalidField('tools', 'must be an array')
  return value.map((tool: unknown, index) => {
    const at = `tools.${index}`
    if (!isObject(tool)) throw invalidField(at, 'must be an object')
    // Anthropic's server tools (web search, bash, text editor...) run at Anthropic: no other upstream has them.
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom')
      throw invalidField(
        `${at}.type`,
        `server tool "${String(tool.type).slice(0, 40)}" is not supported; only custom tools (name, description, input_schema)`,
      )
    if (typeof tool.name !== 'string' || tool.name === '')
      throw invalidField(`${at}.name`, 'must be a non-empty string')
    if (!isObject(tool.input_schema)) throw invalidField(`${at}.input_schema`, 'must be a JSON Schema object')
    if (tool.description !== undefined && typeof tool.description !== 'string')
      throw invalidField(`${at}.description`, 'must be a string')
    return {
      type: 'function' as const,
      name: tool.name,
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      inputSchema: tool.input_schema as JSONSchema7,
    }
  })
}

function toolChoice(value: unknown): { choice: LanguageModelV3ToolChoice; parallel: boolean } {
  if (!isObject(value))
    throw invalidField('tool_choice', 'must be an object { type: "auto" | "any" | "tool" | "none" }')
  if (value.disable_parallel_tool_use !== undefined && typeof value.disable_parallel_tool_use !== 'boolean')
    throw invalidField('tool_choice.disable_parallel_tool_use', 'must be a boolean')
  const parallel = value.disable_parallel_tool_use !== true
  switch (value.type) {
    case 'auto':
    case 'none':
      return { choice: { type: value.type }, parallel }
    case 'any':
      return { choice: { type: 'required' }, parallel }
    case 'tool':
      if (typeof value.name !== 'string' || value.name === '')
        throw invalidField('tool_choice.name', 'must name a tool')
      return { choice: { type: 'tool', toolName: value.name }, parallel }
    default:
      throw invalidField('tool_choice.type', 'must be "auto", "any", "tool" or "none"')
  }
}

const number = (value: unknown, field: string): number | undefined => {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidField(field, 'must be a number')
  return value
}

/**
 * Settings that only some providers take, under each one's `providerOptions` key (a provider reads its own and
 * ignores the others): the end user's id, and one tool call per answer.
 */
function providerOptions(userId: string | undefined, parallel: boolean): SharedV3ProviderOptions | undefined {
  if (userId === undefined && parallel) return undefined
  const user = userId === undefined ? {} : { user: userId }
  return {
    anthropic: {
      ...(userId === undefined ? {} : { metadata: { userId } }),
      ...(parallel ? {} : { disableParallelToolUse: true }),
    },
    openai: { ...user, ...(parallel ? {} : { parallelToolCalls: false }) },
    openaiCompatible: user,
  }
}

/**
 * Checks a Messages request and converts it into the AI SDK's call options (without the abort signal). Every mistake
 * is an `HttpError` 400 naming the field, thrown before anything is routed: it never reaches an instance.
 */
export function toCallOptions(body: MessagesRequest): LanguageModelV3CallOptions {
  const call: LanguageModelV3CallOptions = { prompt: toPrompt(body.system, body.messages) }
  const maxTokens = body.max_tokens as unknown
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)
    throw invalidField('max_tokens', 'is required: a whole number ≥ 1')
  call.maxOutputTokens = maxTokens as number
  const temperature = number(body.temperature, 'temperature')
  if (temperature !== undefined) call.temperature = temperature
  const topP = number(body.top_p, 'top_p')
  if (topP !== undefined) call.topP = topP
  const topK = number(body.top_k, 'top_k')
  if (topK !== undefined) call.topK = topK
  const stop = body.stop_sequences as unknown
  if (stop !== undefined && stop !== null) {
    if (!Array.isArray(stop) || !stop.every((sequence) => typeof sequence === 'string'))
      throw invalidField('stop_sequences', 'must be an array of strings')
    call.stopSequences = stop
  }
  if (body.tools !== undefined && body.tools !== null) call.tools = tools(body.tools)
  let parallel = true
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const choice = toolChoice(body.tool_choice)
    call.toolChoice = choice.choice
    parallel = choice.parallel
  }
  const metadata = body.metadata as unknown
  let userId: string | undefined
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) throw invalidField('metadata', 'must be an object')
    if (metadata.user_id !== undefined && metadata.user_id !== null && typeof metadata.user_id !== 'string')
      throw invalidField('metadata.user_id', 'must be a string')
    if (typeof metadata.user_id === 'string') userId = metadata.user_id
  }
  const options = providerOptions(userId, parallel)
  if (options) call.providerOptions = options
  return call
}
