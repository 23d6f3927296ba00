import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3ToolChoice,
} from '@ai-sdk/provider'
import { APICallError } from '@ai-sdk/provider'
import { apiRoot, type ProviderDefinition } from '@llmpool/router'
import { OPEN_BRACE } from './json-chars'
import { ERROR_FIRST, FINISH_REASONS, numberAfter, skipSpace, stringAfter, topLevelModel } from './openai-text'
import { streamThrough } from './stream-pass-through'
import { connectionError, statusError, type UpstreamAnswer, type Upstreams } from './upstream'

export { topLevelModel } from './openai-text'

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
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.type === b.type &&
    (a.type !== 'tool' || (b as { toolName?: string }).toolName === a.toolName))

/** What a pass-through result carries in `providerMetadata[PASS_THROUGH_KEY]`: the upstream's answer, verbatim. */
export interface PassThroughAnswer {
  /** The upstream's response body, as received. */
  text: string
  /** Where the value of its top-level `model` is (the quoted string, [start, end)), if it could be found cheaply. */
  modelSpan?: [number, number]
}

/** Whether the client asked for the usage chunk of a stream (`stream_options.include_usage`). */
function wantsUsage(body: Record<string, unknown>): boolean {
  return (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
}

/**
 * The upstream body of one attempt: the client's body with the instance's model and, where the client set none,
 * the echelon's temperature and max_tokens. When the client's text has a plain top-level `"model":` key, its value
 * is spliced and the defaults appended, so the body is not serialized again (that cost more than the rest of the
 * gateway's own work); otherwise the parsed body is copied and serialized.
 *
 * A stream (`"stream": true`) always asks the upstream for its usage chunk (`stream_options.include_usage`): the
 * router counts tokens from it. When the client did not ask, the stream drops it (stream-pass-through.ts).
 */
export function upstreamBody(request: PassThroughRequest, modelId: string, call: LanguageModelV3CallOptions): string {
  const { text, body } = request
  const stream = body.stream === true
  let extra = ''
  if (body.temperature === undefined && call.temperature !== undefined)
    extra += `,"temperature":${JSON.stringify(call.temperature)}`
  if (body.max_tokens === undefined && body.max_completion_tokens === undefined && call.maxOutputTokens !== undefined) {
    extra += `,"max_tokens":${JSON.stringify(call.maxOutputTokens)}`
  }
  if (stream && body.stream_options === undefined) extra += ',"stream_options":{"include_usage":true}'
  // The wrapper's tool policy (`tool_selection_strategy`) changed the client's tool_choice: send what it decided.
  const policyChoice =
    call.tools && call.tools.length > 0 && call.toolChoice && !sameChoice(call.toolChoice, request.toolChoice)
      ? call.toolChoice
      : undefined
  // Spliced when stream_options needs no change: absent (a JSON request, or a stream that gets it appended above),
  // or a stream's that asks for usage already.
  const plainOptions = body.stream_options === undefined || (stream && wantsUsage(body))
  const span = plainOptions && !policyChoice ? topLevelModel(text) : undefined
  const close = span ? text.lastIndexOf('}') : -1
  if (span && close >= span[1]) {
    return `${text.slice(0, span[0])}${JSON.stringify(modelId)}${text.slice(span[1], close)}${extra}${text.slice(close)}`
  }
  const copy: Record<string, unknown> = { ...body, model: modelId, stream }
  if (policyChoice) copy.tool_choice = openAIToolChoice(policyChoice)
  // Upstreams refuse stream_options without stream.
  if (stream) copy.stream_options = { ...(body.stream_options as object | undefined), include_usage: true }
  else delete copy.stream_options
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
    finishReason: { unified: FINISH_REASONS[raw ?? 'stop'] ?? 'other', raw },
    usage: {
      inputTokens: { total: input, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: undefined, reasoning: undefined },
    },
    warnings: [],
    providerMetadata: { [PASS_THROUGH_KEY]: answer as unknown as Record<string, string> },
  }
}

/**
 * Wraps an OpenAI-speaking provider so that a call that carries the client's request (from the gateway) goes to
 * the upstream as it came, over a keep-alive undici pool, and comes back as the upstream's bytes: a JSON answer in
 * the result's `providerMetadata`, a stream as `raw` parts of SSE text (stream-pass-through.ts). The router still
 * picks the instance, applies limits, breakers, retries and deadlines: to it this is just a model. Calls without a
 * raw body (health probes, other callers) use the wrapped provider's AI SDK model.
 */
export function passThroughProvider(
  inner: ProviderDefinition,
  upstreams: Upstreams,
  defaultRoot?: () => string | undefined,
  defaultKey?: () => string | undefined,
): ProviderDefinition {
  return {
    ...(inner.probe ? { probe: inner.probe.bind(inner) } : {}),
    async createModel(settings) {
      const model = await inner.createModel(settings)
      const root = apiRoot(settings.baseURL) ?? defaultRoot?.()
      const url = `${root}/chat/completions`
      const target = root === undefined ? undefined : new URL(url)
      const key = settings.apiKey ? settings.apiKey : defaultKey?.()
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      }
      const passThrough: LanguageModelV3 = {
        specificationVersion: 'v3',
        provider: model.provider,
        modelId: model.modelId,
        supportedUrls: model.supportedUrls,
        doStream(call) {
          const request = call.providerOptions?.[PASS_THROUGH_KEY] as PassThroughRequest | undefined
          if (request === undefined || target === undefined || request.body.stream !== true) return model.doStream(call)
          return streamThrough(upstreams, target, headers, upstreamBody(request, settings.modelId, call), request, call)
        },
        async doGenerate(call) {
          const request = call.providerOptions?.[PASS_THROUGH_KEY] as PassThroughRequest | undefined
          if (request === undefined || target === undefined || request.body.stream === true)
            return model.doGenerate(call)
          const requestBody = upstreamBody(request, settings.modelId, call)
          let response: UpstreamAnswer
          try {
            response = await upstreams.post(target, headers, requestBody, call)
          } catch (error) {
            throw connectionError(url, request.body, error)
          }
          const text = response.text
          const status = response.status
          if (status >= 400) throw statusError(url, request.body, status, response.headers, text)
          // Not parsed: an answer is an answer when it is an object with `choices` and does not lead with `error`.
          const choices = text.indexOf('"choices"')
          if (choices < 0 || text.charCodeAt(skipSpace(text, 0)) !== OPEN_BRACE || ERROR_FIRST.test(text)) {
            throw new APICallError({
              message: 'upstream answered an error in a 200 body',
              url,
              requestBodyValues: request.body,
              statusCode: 502,
              responseBody: text.slice(0, 2000),
              isRetryable: true,
            })
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
