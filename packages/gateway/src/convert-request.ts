import type {
  JSONSchema7,
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3ToolChoice,
} from '@ai-sdk/provider'
import { HttpError } from './http-error'
import { checkJsonText } from './json-guard'

/** The parts of an OpenAI Chat Completions request body the gateway reads. */
export interface ChatCompletionRequest {
  model: string
  messages: OpenAIMessage[]
  stream?: boolean
  stream_options?: { include_usage?: boolean }
  temperature?: number
  max_tokens?: number
  max_completion_tokens?: number
  top_p?: number
  stop?: string | string[]
  seed?: number
  frequency_penalty?: number
  presence_penalty?: number
  response_format?:
    | { type: 'text' }
    | { type: 'json_object' }
    | { type: 'json_schema'; json_schema: { name?: string; description?: string; schema?: unknown } }
  tools?: {
    type: 'function'
    function: { name: string; description?: string; parameters?: unknown; strict?: boolean }
  }[]
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } }
}

type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } | string }
  | { type: string; [key: string]: unknown }
type OpenAIMessage =
  | { role: 'system' | 'developer'; content: string | ContentPart[] }
  | { role: 'user'; content: string | ContentPart[] }
  | {
      role: 'assistant'
      content?: string | ContentPart[] | null
      tool_calls?: { id: string; type?: 'function'; function: { name: string; arguments: string } }[]
    }
  | { role: 'tool'; tool_call_id: string; content: string | ContentPart[] }

/** A 400 for the client's body; with `param` (the field at fault, OpenAI's path style) named in the message too. */
const invalid = (message: string, param?: string) =>
  param
    ? new HttpError(400, 'invalid_request_error', 'invalid_value', `${param}: ${message}`, {}, param)
    : new HttpError(400, 'invalid_request_error', 'invalid_request', message)

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content
  if (content === null || content === undefined) return ''
  if (!Array.isArray(content)) throw invalid('must be a string or an array of content parts', where)
  let text = ''
  for (const part of content) {
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text += part.text
    else throw invalid('only text parts are accepted here', where)
  }
  return text
}

function dataUrl(url: string, where: string): { data: string | URL; mediaType: string } {
  if (url.startsWith('data:')) {
    const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url)
    if (!match) throw invalid('is not a valid data: URL', `${where}.image_url.url`)
    const mediaType = match[1] ?? 'application/octet-stream'
    // image_url holds images: another media type is the client's mistake, not something an upstream should see.
    if (!mediaType.startsWith('image/'))
      throw invalid(
        `a data: URL here must hold an image (image/*), not ${JSON.stringify(mediaType.slice(0, 60))}`,
        `${where}.image_url.url`,
      )
    if (match[2]) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(match[3]!)) throw invalid('is not valid base64', `${where}.image_url.url`)
      return { data: match[3]!, mediaType }
    }
    try {
      return { data: Buffer.from(decodeURIComponent(match[3]!)).toString('base64'), mediaType }
    } catch {
      throw invalid('is not a valid data: URL (bad percent-encoding)', `${where}.image_url.url`)
    }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalid('is not a URL', `${where}.image_url.url`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw invalid('must be an http(s) or data: URL', `${where}.image_url.url`)
  return { data: parsed, mediaType: 'image/*' }
}

function userContent(content: unknown, where: string): Extract<LanguageModelV3Message, { role: 'user' }>['content'] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw invalid('must be a string or an array of content parts', where)
  return content.map((part, index) => {
    if (!isObject(part)) throw invalid('must be an object', `${where}[${index}]`)
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid('a text part needs a string text', `${where}[${index}].text`)
      return { type: 'text' as const, text: part.text }
    }
    if (part.type === 'image_url') {
      const image = part.image_url
      const url =
        typeof image === 'string' ? image : isObject(image) && typeof image.url === 'string' ? image.url : undefined
      if (url === undefined) throw invalid('needs image_url.url', `${where}[${index}]`)
      const { data, mediaType } = dataUrl(url, `${where}[${index}]`)
      return { type: 'file' as const, data, mediaType }
    }
    throw invalid(
      `content part type ${JSON.stringify(String(part.type).slice(0, 40))} is not supported (text, image_url)`,
      `${where}[${index}].type`,
    )
  })
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** OpenAI messages to the AI SDK prompt; tool results find their tool's name from the assistant's calls. */
export function toPrompt(messages: unknown): LanguageModelV3Message[] {
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('must be a non-empty array', 'messages')
  // Made for the first tool call: most requests have none.
  let toolNames: Map<string, string> | undefined
  const prompt: LanguageModelV3Message[] = []
  messages.forEach((message: unknown, index) => {
    const where = `messages[${index}]`
    if (!isObject(message)) throw invalid('must be an object', where)
    switch (message.role) {
      case 'system':
      case 'developer':
        prompt.push({ role: 'system', content: textOf(message.content, `${where}.content`) })
        return
      case 'user':
        prompt.push({ role: 'user', content: userContent(message.content, `${where}.content`) })
        return
      case 'assistant': {
        const content: Extract<LanguageModelV3Message, { role: 'assistant' }>['content'] = []
        const text = textOf(message.content, `${where}.content`)
        if (text !== '') content.push({ type: 'text', text })
        const calls = message.tool_calls
        if (calls !== undefined && calls !== null) {
          if (!Array.isArray(calls)) throw invalid('must be an array', `${where}.tool_calls`)
          calls.forEach((call: unknown, callIndex) => {
            const fn = isObject(call) ? call.function : undefined
            if (!isObject(call) || typeof call.id !== 'string' || !isObject(fn) || typeof fn.name !== 'string') {
              throw invalid('needs id and function.name', `${where}.tool_calls[${callIndex}]`)
            }
            ;(toolNames ??= new Map()).set(call.id, fn.name)
            content.push({
              type: 'tool-call',
              toolCallId: call.id,
              toolName: fn.name,
              input: parseArguments(typeof fn.arguments === 'string' ? fn.arguments : '{}'),
            })
          })
        }
        prompt.push({ role: 'assistant', content })
        return
      }
      case 'tool': {
        if (typeof message.tool_call_id !== 'string')
          throw invalid('is required (a string) in a tool message', `${where}.tool_call_id`)
        const part = {
          type: 'tool-result' as const,
          toolCallId: message.tool_call_id,
          toolName: toolNames?.get(message.tool_call_id) ?? 'unknown',
          output: { type: 'text' as const, value: textOf(message.content, `${where}.content`) },
        }
        // Consecutive tool messages answer one assistant turn: one AI SDK tool message.
        const last = prompt[prompt.length - 1]
        if (last?.role === 'tool') last.content.push(part)
        else prompt.push({ role: 'tool', content: [part] })
        return
      }
      default:
        throw invalid(`role "${String(message.role)}" is not supported`, `${where}.role`)
    }
  })
  return prompt
}

const number = (value: unknown, param: string): number | undefined => {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('must be a number', param)
  return value
}

function tools(value: unknown): LanguageModelV3FunctionTool[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw invalid('must be an array', 'tools')
  return value.map((tool: unknown, index) => {
    const fn = isObject(tool) ? tool.function : undefined
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string') {
      throw invalid('must be { type: "function", function: { name, parameters? } }', `tools[${index}]`)
    }
    return {
      type: 'function' as const,
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      inputSchema: (isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} }) as JSONSchema7,
      ...(typeof fn.strict === 'boolean' ? { strict: fn.strict } : {}),
    }
  })
}

function toolChoice(value: unknown): LanguageModelV3ToolChoice | undefined {
  if (value === undefined || value === null) return undefined
  if (value === 'auto' || value === 'none' || value === 'required') return { type: value }
  if (
    isObject(value) &&
    value.type === 'function' &&
    isObject(value.function) &&
    typeof value.function.name === 'string'
  ) {
    return { type: 'tool', toolName: value.function.name }
  }
  throw invalid('must be "auto", "none", "required" or { type: "function", function: { name } }', 'tool_choice')
}

function responseFormat(value: unknown): LanguageModelV3CallOptions['responseFormat'] {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw invalid('must be an object', 'response_format')
  if (value.type === 'text') return { type: 'text' }
  if (value.type === 'json_object') return { type: 'json' }
  if (value.type === 'json_schema' && isObject(value.json_schema)) {
    const spec = value.json_schema
    return {
      type: 'json',
      ...(isObject(spec.schema) ? { schema: spec.schema as JSONSchema7 } : {}),
      ...(typeof spec.name === 'string' ? { name: spec.name } : {}),
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
    }
  }
  throw invalid('type must be text, json_object or json_schema', 'response_format')
}

function set<K extends keyof LanguageModelV3CallOptions>(
  call: LanguageModelV3CallOptions,
  key: K,
  value: LanguageModelV3CallOptions[K] | undefined,
): void {
  if (value !== undefined) call[key] = value
}

/** Checks the body's shape and converts it into the AI SDK's call options (without the abort signal). */
export function toCallOptions(body: ChatCompletionRequest): LanguageModelV3CallOptions {
  const stop = body.stop
  if (
    stop !== undefined &&
    stop !== null &&
    typeof stop !== 'string' &&
    !(Array.isArray(stop) && stop.every((s) => typeof s === 'string'))
  ) {
    throw invalid('must be a string or an array of strings', 'stop')
  }
  const call: LanguageModelV3CallOptions = { prompt: toPrompt(body.messages) }
  const temperature = number(body.temperature, 'temperature')
  if (temperature !== undefined) call.temperature = temperature
  const tokensParam = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens'
  const maxOutputTokens = number(body.max_completion_tokens ?? body.max_tokens, tokensParam)
  if (maxOutputTokens !== undefined) {
    // Refused here as OpenAI refuses it, rather than by each upstream in turn.
    if (!Number.isInteger(maxOutputTokens) || maxOutputTokens < 1)
      throw invalid('must be a whole number ≥ 1', tokensParam)
    call.maxOutputTokens = maxOutputTokens
  }
  // The rest is rare: only a request that has any of them pays for looking.
  if (body.top_p !== undefined) set(call, 'topP', number(body.top_p, 'top_p'))
  if (body.seed !== undefined) set(call, 'seed', number(body.seed, 'seed'))
  if (body.frequency_penalty !== undefined)
    set(call, 'frequencyPenalty', number(body.frequency_penalty, 'frequency_penalty'))
  if (body.presence_penalty !== undefined)
    set(call, 'presencePenalty', number(body.presence_penalty, 'presence_penalty'))
  if (stop !== undefined && stop !== null) call.stopSequences = typeof stop === 'string' ? [stop] : stop
  if (body.response_format !== undefined) set(call, 'responseFormat', responseFormat(body.response_format))
  if (body.tools !== undefined) set(call, 'tools', tools(body.tools))
  if (body.tool_choice !== undefined) set(call, 'toolChoice', toolChoice(body.tool_choice))
  return call
}

/** Parses and checks the top level of a request body (after `checkJsonText`: no deep nesting, no key twice). */
export function parseBody(text: string): ChatCompletionRequest {
  checkJsonText(text)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'invalid_json', 'the request body is not valid JSON')
  }
  if (!isObject(body)) throw invalid('the request body must be a JSON object')
  if (typeof body.model !== 'string' || body.model === '')
    throw invalid('is required (a wrapper, pool or task group name)', 'model')
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw invalid('must be a boolean', 'stream')
  return body as unknown as ChatCompletionRequest
}
