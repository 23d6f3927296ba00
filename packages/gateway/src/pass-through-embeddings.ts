import type { EmbeddingModelV3, EmbeddingModelV3CallOptions, LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { APICallError } from '@ai-sdk/provider'
import { apiRoot, type ProviderDefinition, type ProviderModelSettings } from '@llmpool/router'
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars'
import { ERROR_FIRST, numberAfter, skipSpace, topLevelModel } from './openai-text'
import { PASS_THROUGH_KEY, type PassThroughAnswer, type PassThroughRequest } from './pass-through'
import { connectionError, statusError, type UpstreamAnswer, type Upstreams } from './upstream'

// The pass-through of `POST /v1/embeddings` (docs/decisions/0017): the client's body goes to an OpenAI-compatible
// upstream with only its `model` replaced, and the upstream's answer comes back as bytes. Parsing an answer of
// vectors (thousands of numbers each, validated one by one by the AI SDK's schema) and writing it again, in base64
// for the `openai` client, is most of the work of an embeddings request; the pass-through does none of it.

/** The index just past the JSON string whose opening quote is at `index` (base64 vectors have no escapes: indexOf). */
function stringEnd(text: string, index: number): number {
  for (let at = text.indexOf('"', index + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return at + 1
  }
  return text.length
}

/**
 * The span of the quoted value of the top-level `"model"` of an embeddings answer, which OpenAI writes after the
 * vectors: the last `"model":` of the text, when it is a key of the top-level object; undefined otherwise (the
 * gateway then parses and serializes the answer again).
 */
export function embeddingsAnswerModel(text: string): [number, number] | undefined {
  const key = text.lastIndexOf('"model"')
  if (key < 0) return undefined
  const colon = skipSpace(text, key + '"model"'.length)
  if (text.charCodeAt(colon) !== COLON) return undefined
  let depth = 0
  for (let at = 0; at < key; at++) {
    const code = text.charCodeAt(at)
    if (code === QUOTE) {
      at = stringEnd(text, at) - 1
      if (at >= key) return undefined
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--
  }
  const value = skipSpace(text, colon + 1)
  return depth === 1 && text.charCodeAt(value) === QUOTE ? [value, stringEnd(text, value)] : undefined
}

/** The client's body for the instance's model: its `model` value spliced when it can be found cheaply, else serialized. */
function upstreamBody(request: PassThroughRequest, modelId: string): string {
  const span = topLevelModel(request.text)
  if (span) return `${request.text.slice(0, span[0])}${JSON.stringify(modelId)}${request.text.slice(span[1])}`
  return JSON.stringify({ ...request.body, model: modelId })
}

/**
 * The embedding model of an OpenAI-speaking instance behind the gateway: a call that carries the client's request
 * (`providerOptions[PASS_THROUGH_KEY]`) is forwarded as it came, and its result carries the upstream's answer in
 * `providerMetadata[PASS_THROUGH_KEY]` (its `embeddings` stay empty: the gateway writes the text back). Other calls
 * (a library user's `embed` through the gateway's pool) use the AI SDK model it wraps.
 */
async function passThroughEmbeddingModel(
  inner: ProviderDefinition,
  settings: ProviderModelSettings,
  upstreams: Upstreams,
  defaultRoot: (() => string | undefined) | undefined,
  defaultKey: (() => string | undefined) | undefined,
): Promise<EmbeddingModelV3> {
  const model = await inner.createEmbeddingModel!(settings)
  const root = apiRoot(settings.baseURL) ?? defaultRoot?.()
  const url = `${root}/embeddings`
  const target = root === undefined ? undefined : new URL(url)
  const key = settings.apiKey ? settings.apiKey : defaultKey?.()
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  }
  return {
    specificationVersion: 'v3',
    provider: model.provider,
    modelId: model.modelId,
    maxEmbeddingsPerCall: model.maxEmbeddingsPerCall,
    supportsParallelCalls: model.supportsParallelCalls,
    async doEmbed(call: EmbeddingModelV3CallOptions) {
      const request = call.providerOptions?.[PASS_THROUGH_KEY] as PassThroughRequest | undefined
      if (request === undefined || target === undefined) return model.doEmbed(call)
      let response: UpstreamAnswer
      try {
        // `post` hears the attempt's abort through `onAbort`, which reads only the call's attempt and `abortSignal`.
        response = await upstreams.post(
          target,
          headers,
          upstreamBody(request, settings.modelId),
          call as unknown as LanguageModelV3CallOptions,
        )
      } catch (error) {
        throw connectionError(url, request.body, error)
      }
      const { text, status } = response
      if (status >= 400) throw statusError(url, request.body, status, response.headers, text)
      // Not parsed: an answer is an answer when it is an object with `data` that does not lead with `error`.
      if (text.indexOf('"data"') < 0 || text.charCodeAt(skipSpace(text, 0)) !== OPEN_BRACE || ERROR_FIRST.test(text)) {
        throw new APICallError({
          message: 'upstream answered an error in a 200 body',
          url,
          requestBodyValues: request.body,
          statusCode: 502,
          responseBody: text.slice(0, 2000),
          isRetryable: true,
        })
      }
      const usageAt = text.lastIndexOf('"usage"')
      const tokens = usageAt < 0 ? undefined : numberAfter(text, '"prompt_tokens"', usageAt)
      const modelSpan = embeddingsAnswerModel(text)
      const answer: PassThroughAnswer = modelSpan ? { text, modelSpan } : { text }
      return {
        embeddings: [],
        ...(tokens !== undefined ? { usage: { tokens } } : {}),
        providerMetadata: { [PASS_THROUGH_KEY]: answer as unknown as Record<string, string> },
        warnings: [],
      }
    },
  }
}

/**
 * `provider` with embedding models that pass OpenAI embeddings requests through (see above), when `inner` (the
 * provider it wraps) has embedding models; `provider` as it is otherwise.
 */
export function withPassThroughEmbeddings(
  provider: ProviderDefinition,
  inner: ProviderDefinition,
  upstreams: Upstreams,
  defaultRoot?: () => string | undefined,
  defaultKey?: () => string | undefined,
): ProviderDefinition {
  if (!inner.createEmbeddingModel) return provider
  return {
    ...provider,
    createEmbeddingModel: (settings) => passThroughEmbeddingModel(inner, settings, upstreams, defaultRoot, defaultKey),
  }
}
