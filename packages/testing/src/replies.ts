import type { IncomingHttpHeaders } from 'node:http'

/** Which API a request spoke. */
export type MockApi = 'openai' | 'anthropic'

/** What a reply function receives: one chat request as the mock upstream parsed it. */
export interface MockUpstreamRequest {
  /** `openai` for Chat Completions, `anthropic` for Messages. */
  api: MockApi
  /** The request body's `model`. */
  model: string
  /** The API key it carried (`Authorization: Bearer <key>` or `x-api-key`), or undefined. */
  apiKey: string | undefined
  /** The URL path (`/v1/chat/completions`). */
  path: string
  /** True when the client asked for server-sent events. */
  stream: boolean
  /** The parsed JSON body. */
  body: Record<string, unknown>
  /** The request headers, as Node parsed them. */
  headers: IncomingHttpHeaders
  /** Text of the last user message that has text ('' if none). */
  lastUserText: string
  /** Names of the tools the request offers. */
  toolNames: readonly string[]
}

/** A tool call the mock answers with. */
export interface MockToolCall {
  /** A tool the request offers. */
  name: string
  /** The arguments: an object (sent as JSON) or a JSON string. Default `{}`. */
  arguments?: unknown
  /** The call id. Default `call_mock_<n>` (OpenAI) or `toolu_mock_<n>` (Anthropic). */
  id?: string
}

/** A reply in detail. */
export interface MockReplySpec {
  /** The assistant's text. Default: the default echo reply. */
  content?: string
  /** Tool calls, sent (with finish reason `tool_calls` / `tool_use`) only when the request offers tools. */
  toolCalls?: readonly MockToolCall[]
  /** The pieces a streamed answer sends. Default: `content` split before each word. */
  chunks?: readonly string[]
  /** Reported usage. Default: input ≈ request body bytes / 4, output ≈ content characters / 4. */
  usage?: { inputTokens?: number; outputTokens?: number }
}

/** How a model answers: fixed text, a spec, or a function of the request (which may return a promise). */
export type MockReply =
  | string
  | MockReplySpec
  | ((request: MockUpstreamRequest) => string | MockReplySpec | PromiseLike<string | MockReplySpec>)

/** A reply ready to render. */
export interface ResolvedReply {
  content: string
  toolCalls: readonly { id: string | undefined; name: string; argumentsJson: string }[]
  chunks: readonly string[] | undefined
  inputTokens: number
  outputTokens: number
}

const ECHO_LIMIT = 200
const CALL_TOOL = /call tool ([\w.-]+)(?:\s+(\{[\s\S]*\}))?/
const NO_TOOLS: readonly string[] = []

/** `mock reply from MODEL: <last user message, truncated to 200 characters>`. */
export function defaultContent(model: string, lastUserText: string): string {
  const echo = lastUserText.length > ECHO_LIMIT ? `${lastUserText.slice(0, ECHO_LIMIT)}…` : lastUserText
  return `mock reply from ${model}: ${echo}`
}

/** Reads what a reply needs from a Chat Completions or Messages body. */
export function describeConversation(
  api: MockApi,
  body: Record<string, unknown>,
): {
  lastUserText: string
  awaitsReply: boolean
  toolNames: readonly string[]
} {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : []
  let lastUserText = ''
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index] as { role?: unknown; content?: unknown } | null
    if (message?.role !== 'user') continue
    lastUserText = textOf(message.content)
    if (lastUserText) break
  }
  const last = messages[messages.length - 1] as { role?: unknown; content?: unknown } | undefined
  // The tool rule fires only on a fresh user turn, never on the turn that carries tool results back.
  const awaitsReply = last?.role === 'user' && !hasToolResult(last.content)
  const tools = Array.isArray(body.tools)
    ? (body.tools as { name?: unknown; function?: { name?: unknown } }[])
    : undefined
  const toolNames = tools
    ? tools
        .map((tool) => (api === 'openai' ? tool.function?.name : tool.name))
        .filter((name): name is string => typeof name === 'string')
    : NO_TOOLS
  return { lastUserText, awaitsReply, toolNames }
}

/** Turns the configured reply (or the default rules) into a reply to render. */
export function resolveReply(
  reply: MockReply | undefined,
  request: MockUpstreamRequest,
  awaitsReply: boolean,
  bodyBytes: number,
): ResolvedReply | Promise<ResolvedReply> {
  if (typeof reply === 'function') {
    const result = reply(request)
    if (typeof (result as PromiseLike<unknown>)?.then === 'function') {
      return Promise.resolve(result).then((value) => normalize(value, request, bodyBytes))
    }
    return normalize(result as string | MockReplySpec, request, bodyBytes)
  }
  if (reply === undefined) return normalize(defaultRule(request, awaitsReply), request, bodyBytes)
  return normalize(reply, request, bodyBytes)
}

/** Default rule: a fresh user turn containing `call tool NAME [{json}]`, NAME offered, answers with that call. */
function defaultRule(request: MockUpstreamRequest, awaitsReply: boolean): MockReplySpec {
  if (awaitsReply && request.toolNames.length > 0) {
    const match = CALL_TOOL.exec(request.lastUserText)
    if (match && request.toolNames.includes(match[1] as string)) {
      return { toolCalls: [{ name: match[1] as string, arguments: parseArguments(match[2]) }] }
    }
  }
  return { content: defaultContent(request.model, request.lastUserText) }
}

function normalize(reply: string | MockReplySpec, request: MockUpstreamRequest, bodyBytes: number): ResolvedReply {
  const spec: MockReplySpec = typeof reply === 'string' ? { content: reply } : reply
  const toolCalls =
    spec.toolCalls && request.toolNames.length > 0
      ? spec.toolCalls.map((call) => ({
          id: call.id,
          name: call.name,
          argumentsJson: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
        }))
      : []
  const content = spec.content ?? (toolCalls.length > 0 ? '' : defaultContent(request.model, request.lastUserText))
  const outputSize =
    content.length + toolCalls.reduce((sum, call) => sum + call.name.length + call.argumentsJson.length, 0)
  return {
    content,
    toolCalls,
    chunks: spec.chunks,
    inputTokens: spec.usage?.inputTokens ?? Math.max(1, Math.ceil(bodyBytes / 4)),
    outputTokens: spec.usage?.outputTokens ?? Math.max(1, Math.ceil(outputSize / 4)),
  }
}

/** The pieces of a streamed text: each word with the whitespace before it, so that joining them gives the text. */
export function splitIntoChunks(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? []
}

/** Splits tool-call arguments into a few deltas, like a real stream. */
export function splitArguments(json: string): string[] {
  if (json.length <= 8) return [json]
  const size = Math.ceil(json.length / 3)
  return [json.slice(0, size), json.slice(size, 2 * size), json.slice(2 * size)]
}

function parseArguments(text: string | undefined): unknown {
  if (text === undefined) return {}
  try {
    return JSON.parse(text)
  } catch {
    return {}
  }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  let text = ''
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (part?.type === 'text' && typeof part.text === 'string') text += text ? `\n${part.text}` : part.text
  }
  return text
}

function hasToolResult(content: unknown): boolean {
  return Array.isArray(content) && (content as { type?: unknown }[]).some((part) => part?.type === 'tool_result')
}
