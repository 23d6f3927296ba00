import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider'
import { APICallError } from '@ai-sdk/provider'
import { apiRoot, type ProviderDefinition } from '@llmpool/router'
import type { UpstreamAnswer, Upstreams } from './upstream'

/** The `providerOptions` key under which the gateway hands the client's request to a pass-through model. */
export const PASS_THROUGH_KEY = 'llmpoolGatewayPassThrough'

/** What the gateway hands a pass-through model: the client's body as text, and as parsed. */
export interface PassThroughRequest {
  /** The client's request body, as received. */
  text: string
  /** The same, parsed. */
  body: Record<string, unknown>
}

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

// JSON strings escape every `"` inside them, so `"name":` (quote, name, quote, colon) can only be a key, and a
// string or bracket token found from a token boundary is one. That makes these searches safe on any valid JSON text.
const MODEL_KEY = /"model"\s*:\s*/g
const STRING_AT = /"(?:[^"\\]|\\.)*"/y
const TOKENS = /"(?:[^"\\]|\\.)*"|[{}[\]]/g
const ERROR_FIRST = /^\s*\{\s*"error"\s*:/
const PROMPT_TOKENS = /"prompt_tokens"\s*:\s*(\d+)/g
const COMPLETION_TOKENS = /"completion_tokens"\s*:\s*(\d+)/g
const FINISH_REASON = /"finish_reason"\s*:\s*"([a-z_]+)"/g

/**
 * How deep in objects and arrays the token that starts at `index` of the JSON `text` is (1: a key of the top-level
 * object), or -1 when no token starts there (the index is inside a string).
 */
function depthOfTokenAt(text: string, index: number): number {
  let depth = 0
  TOKENS.lastIndex = 0
  for (let token = TOKENS.exec(text); token; token = TOKENS.exec(text)) {
    if (token.index >= index) return token.index === index ? depth : -1
    const char = token[0]
    if (char === '{' || char === '[') depth++
    else if (char === '}' || char === ']') depth--
  }
  return -1
}

/**
 * The span of the quoted string value of the top-level `"model":` key of the JSON object `text`, looking only
 * before `end`; undefined if there is none there (or it is written with escapes: the caller then parses).
 */
export function topLevelModel(text: string, end = text.length): [number, number] | undefined {
  MODEL_KEY.lastIndex = 0
  for (let match = MODEL_KEY.exec(text); match && match.index < end; match = MODEL_KEY.exec(text)) {
    const start = MODEL_KEY.lastIndex
    if (depthOfTokenAt(text, match.index) !== 1) continue
    STRING_AT.lastIndex = start
    return STRING_AT.test(text) ? [start, STRING_AT.lastIndex] : undefined
  }
  return undefined
}

/** The number after the first `regex` match at or after `from`, or undefined. */
function numberAfter(regex: RegExp, text: string, from: number): number | undefined {
  regex.lastIndex = from
  const match = regex.exec(text)
  return match ? Number(match[1]) : undefined
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
  const span = body.stream_options === undefined && body.stream !== true ? topLevelModel(text) : undefined
  const close = span ? text.lastIndexOf('}') : -1
  if (span && close >= span[1]) {
    return `${text.slice(0, span[0])}${JSON.stringify(modelId)}${text.slice(span[1], close)}${extra}${text.slice(close)}`
  }
  const copy: Record<string, unknown> = { ...body, model: modelId, stream: false }
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
  const input = usageAt < 0 ? undefined : numberAfter(PROMPT_TOKENS, text, usageAt)
  const output = usageAt < 0 ? undefined : numberAfter(COMPLETION_TOKENS, text, usageAt)
  FINISH_REASON.lastIndex = 0
  const raw = FINISH_REASON.exec(text)?.[1]
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
export function passThroughProvider(inner: ProviderDefinition, upstreams: Upstreams, defaultRoot?: string, defaultKey?: () => string | undefined): ProviderDefinition {
  return {
    ...(inner.probe ? { probe: inner.probe.bind(inner) } : {}),
    async createModel(settings) {
      const model = await inner.createModel(settings)
      const root = apiRoot(settings.baseURL) ?? defaultRoot
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
          if (choices < 0 || ERROR_FIRST.test(text) || text.trimStart()[0] !== '{') {
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
