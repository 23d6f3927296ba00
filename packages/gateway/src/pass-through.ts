import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult, LanguageModelV3ToolChoice } from '@ai-sdk/provider'
import { APICallError } from '@ai-sdk/provider'
import { apiRoot, type ProviderDefinition } from '@llmpool/router'
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, isSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars'
import type { UpstreamAnswer, Upstreams } from './upstream'

/** The `providerOptions` key under which the gateway hands the client's request to a pass-through model. */
export const PASS_THROUGH_KEY = 'llmpoolGatewayPassThrough'

/** What the gateway hands a pass-through model: the client's body as text, and as parsed. */
export interface PassThroughRequest {
  /** The client's request body, as received. */
  text: string
  /** The same, parsed. */
  body: Record<string, unknown>
  /** The client's `tool_choice`, as the AI SDK writes it: when the wrapper's tool policy changes it, the body follows. */
  toolChoice?: LanguageModelV3ToolChoice
}

/** OpenAI's `tool_choice` for the AI SDK's. */
function openAIToolChoice(choice: LanguageModelV3ToolChoice): unknown {
  return choice.type === 'tool' ? { type: 'function', function: { name: choice.toolName } } : choice.type
}

const sameChoice = (a: LanguageModelV3ToolChoice | undefined, b: LanguageModelV3ToolChoice | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.type === b.type && (a.type !== 'tool' || (b as { toolName?: string }).toolName === a.toolName))

/** What a pass-through result carries in `providerMetadata[PASS_THROUGH_KEY]`: the upstream's answer, verbatim. */
export interface PassThroughAnswer {
  /** The upstream's response body, as received. */
  text: string
  /** Where the value of its top-level `model` is (the quoted string, [start, end)), if it could be found cheaply. */
  modelSpan?: [number, number]
}

const finishReasons: Record<string, LanguageModelV3GenerateResult['finishReason']['unified']> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
}

// These read JSON text without parsing it (and allocate next to nothing: they run on every request).
const ERROR_FIRST = /^\s*\{\s*"error"\s*:/
/** Past this many characters the top-level model is not looked for by scanning (re-serializing is as fast). */
const SCAN_LIMIT = 8192


/** The index of the first character at or after `index` that is not JSON whitespace. */
function skipSpace(text: string, index: number): number {
  while (index < text.length && isSpace(text.charCodeAt(index))) index++
  return index
}

/** The index just past the JSON string that starts (with its quote) at `index`. */
function stringEnd(text: string, index: number): number {
  for (let at = index + 1; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (code === BACKSLASH) at++
    else if (code === QUOTE) return at + 1
  }
  return text.length
}

/**
 * How deep in objects and arrays the token that starts at `index` of the JSON `text` is (1: a key of the top-level
 * object), or -1 when no token starts there (the index is inside a string).
 */
function depthOfTokenAt(text: string, index: number): number {
  let depth = 0
  for (let at = 0; at < index; at++) {
    const code = text.charCodeAt(at)
    if (code === QUOTE) {
      at = stringEnd(text, at) - 1
      if (at >= index) return -1
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--
  }
  return depth
}

/** Where the value of the key `"name"` found at or after `from` starts; -1 if there is none. */
function valueOf(text: string, name: string, from: number, end = text.length): { key: number; value: number } | -1 {
  for (let key = text.indexOf(name, from); key >= 0 && key < end; key = text.indexOf(name, key + 1)) {
    const colon = skipSpace(text, key + name.length)
    if (text.charCodeAt(colon) === COLON) return { key, value: skipSpace(text, colon + 1) }
  }
  return -1
}

/**
 * The span of the quoted string value of the top-level `"model":` key of the JSON object `text`, looking only
 * before `end` (and within SCAN_LIMIT); undefined if there is none there, or it is written with escapes: the caller
 * then parses or re-serializes.
 */
export function topLevelModel(text: string, end = text.length): [number, number] | undefined {
  const limit = Math.min(end, SCAN_LIMIT)
  for (let from = 0; ; ) {
    const found = valueOf(text, '"model"', from, limit)
    if (found === -1) return undefined
    if (depthOfTokenAt(text, found.key) === 1) {
      return text.charCodeAt(found.value) === QUOTE ? [found.value, stringEnd(text, found.value)] : undefined
    }
    from = found.key + 1
  }
}

/** The whole number that is the value of the first key `"name"` at or after `from`, or undefined. */
function numberAfter(text: string, name: string, from: number): number | undefined {
  const found = valueOf(text, name, from)
  if (found === -1) return undefined
  let value = 0
  let at = found.value
  for (let code = text.charCodeAt(at); code >= 48 && code <= 57; code = text.charCodeAt(++at)) value = value * 10 + (code - 48)
  return at > found.value ? value : undefined
}

/** The string value of the first key `"name"`, if it is a plain one. */
function stringAfter(text: string, name: string): string | undefined {
  const found = valueOf(text, name, 0)
  if (found === -1 || text.charCodeAt(found.value) !== QUOTE) return undefined
  const close = text.indexOf('"', found.value + 1)
  return close < 0 ? undefined : text.slice(found.value + 1, close)
}

/**
 * The upstream body of one attempt: the client's body with the instance's model and, where the client set none,
 * the echelon's temperature and max_tokens. When the client's text has a plain top-level `"model":` key, its value
 * is spliced and the defaults appended, so the body is not serialized again (that cost more than the rest of the
 * gateway's own work); otherwise the parsed body is copied and serialized.
 */
export function upstreamBody(request: PassThroughRequest, modelId: string, call: LanguageModelV3CallOptions): string {
  const { text, body } = request
  let extra = ''
  if (body.temperature === undefined && call.temperature !== undefined) extra += `,"temperature":${JSON.stringify(call.temperature)}`
  if (body.max_tokens === undefined && body.max_completion_tokens === undefined && call.maxOutputTokens !== undefined) {
    extra += `,"max_tokens":${JSON.stringify(call.maxOutputTokens)}`
  }
  // The wrapper's tool policy (`tool_selection_strategy`) changed the client's tool_choice: send what it decided.
  const policyChoice = call.tools && call.tools.length > 0 && call.toolChoice && !sameChoice(call.toolChoice, request.toolChoice) ? call.toolChoice : undefined
  const span = body.stream_options === undefined && body.stream !== true && !policyChoice ? topLevelModel(text) : undefined
  const close = span ? text.lastIndexOf('}') : -1
  if (span && close >= span[1]) {
    return `${text.slice(0, span[0])}${JSON.stringify(modelId)}${text.slice(span[1], close)}${extra}${text.slice(close)}`
  }
  const copy: Record<string, unknown> = { ...body, model: modelId, stream: false }
  if (policyChoice) copy.tool_choice = openAIToolChoice(policyChoice)
  // Upstreams refuse stream_options without stream.
  delete copy.stream_options
  if (body.temperature === undefined) copy.temperature = call.temperature
  if (body.max_tokens === undefined && body.max_completion_tokens === undefined) copy.max_tokens = call.maxOutputTokens
  return JSON.stringify(copy)
}

/**
 * The result of a pass-through call: the upstream's answer travels verbatim in `providerMetadata[PASS_THROUGH_KEY]`
 * for the gateway to write back, and `content` stays empty. The router reads only `usage`, found in the text
 * without parsing it: parsing the answer (and building content from it) cost more than all the rest of the
 * gateway's own work per request. The finish reason is read the same way.
 */
function passThroughResult(text: string, modelSpan: [number, number] | undefined): LanguageModelV3GenerateResult {
  const usageAt = text.lastIndexOf('"usage"')
  const input = usageAt < 0 ? undefined : numberAfter(text, '"prompt_tokens"', usageAt)
  const output = usageAt < 0 ? undefined : numberAfter(text, '"completion_tokens"', usageAt)
  const raw = stringAfter(text, '"finish_reason"')
  const answer: PassThroughAnswer = modelSpan ? { text, modelSpan } : { text }
  return {
    content: [],
    finishReason: { unified: finishReasons[raw ?? 'stop'] ?? 'other', raw },
    usage: {
      inputTokens: { total: input, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: undefined, reasoning: undefined },
    },
    warnings: [],
    providerMetadata: { [PASS_THROUGH_KEY]: answer as unknown as Record<string, string> },
  }
}

/**
 * Wraps an OpenAI-speaking provider so that a non-streaming call that carries the client's request (from the
 * gateway) goes to the upstream as it came, over a keep-alive undici pool, and comes back as the upstream's bytes.
 * The router still picks the instance, applies limits, breakers, retries and deadlines: to it this is just a model.
 * Calls without a raw body (streams, health probes, other callers) use the wrapped provider's AI SDK model.
 */
export function passThroughProvider(inner: ProviderDefinition, upstreams: Upstreams, defaultRoot?: () => string | undefined, defaultKey?: () => string | undefined): ProviderDefinition {
  return {
    ...(inner.probe ? { probe: inner.probe.bind(inner) } : {}),
    async createModel(settings) {
      const model = await inner.createModel(settings)
      const root = apiRoot(settings.baseURL) ?? defaultRoot?.()
      const url = `${root}/chat/completions`
      const target = root === undefined ? undefined : new URL(url)
      const key = settings.apiKey ? settings.apiKey : defaultKey?.()
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }
      const passThrough: LanguageModelV3 = {
        specificationVersion: 'v3',
        provider: model.provider,
        modelId: model.modelId,
        supportedUrls: model.supportedUrls,
        doStream: (call) => model.doStream(call),
        async doGenerate(call) {
          const request = call.providerOptions?.[PASS_THROUGH_KEY] as PassThroughRequest | undefined
          if (request === undefined || target === undefined) return model.doGenerate(call)
          const requestBody = upstreamBody(request, settings.modelId, call)
          let response: UpstreamAnswer
          try {
            response = await upstreams.post(target, headers, requestBody, call)
          } catch (error) {
            throw new APICallError({ message: `request to ${root} failed: ${(error as Error).message}`, url, requestBodyValues: request.body, cause: error, isRetryable: true })
          }
          const text = response.text
          const status = response.status
          if (status >= 400) {
            throw new APICallError({
              message: `upstream answered ${status}`,
              url,
              requestBodyValues: request.body,
              statusCode: status,
              ...(response.headers ? { responseHeaders: response.headers } : {}),
              responseBody: text.slice(0, 2000),
              isRetryable: status === 408 || status === 409 || status === 429 || status >= 500,
            })
          }
          // Not parsed: an answer is an answer when it is an object with `choices` and does not lead with `error`.
          const choices = text.indexOf('"choices"')
          if (choices < 0 || text.charCodeAt(skipSpace(text, 0)) !== OPEN_BRACE || ERROR_FIRST.test(text)) {
            throw new APICallError({ message: 'upstream answered an error in a 200 body', url, requestBodyValues: request.body, statusCode: 502, responseBody: text.slice(0, 2000), isRetryable: true })
          }
          return passThroughResult(text, topLevelModel(text, choices))
        },
      }
      return passThrough
    },
  }
}

/** The upstream's body with its top-level `model` replaced by `model`; re-serialized only if the text is unusual. */
export function rewriteModel(answer: PassThroughAnswer, model: string): string {
  const span = answer.modelSpan
  if (span) return `${answer.text.slice(0, span[0])}${JSON.stringify(model)}${answer.text.slice(span[1])}`
  const parsed = JSON.parse(answer.text) as Record<string, unknown>
  parsed.model = model
  return JSON.stringify(parsed)
}
