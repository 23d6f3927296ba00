import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult } from '@ai-sdk/provider'
import { APICallError } from '@ai-sdk/provider'
import { apiRoot, type ProviderDefinition } from '@llmpool/router'
import { type Dispatcher, Pool } from 'undici'

/** The `providerOptions` key under which the gateway hands the raw OpenAI request body to a pass-through model. */
export const PASS_THROUGH_KEY = 'llmpoolGatewayPassThrough'

/** What a pass-through result carries in `providerMetadata[PASS_THROUGH_KEY]`: the upstream's answer, verbatim. */
export interface PassThroughAnswer {
  /** The upstream's response body, as received. */
  text: string
  /** The `model` the upstream wrote in it (the gateway rewrites it to the name the client asked for). */
  model: string
}

const finishReasons: Record<string, LanguageModelV3GenerateResult['finishReason']['unified']> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
}

const emptyUsage = (input: number | undefined, output: number | undefined): LanguageModelV3GenerateResult['usage'] => ({
  inputTokens: { total: input, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: undefined, reasoning: undefined },
})

/** Keep-alive connection pools, one per upstream origin, shared by every pass-through model of a gateway. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>()

  get(origin: string): Pool {
    let pool = this.pools.get(origin)
    if (!pool) this.pools.set(origin, (pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 })))
    return pool
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()))
    this.pools.clear()
  }
}

/** Builds the upstream body: the client's, with the instance's model and the echelon's defaults the client left out. */
function upstreamBody(raw: Record<string, unknown>, modelId: string, call: LanguageModelV3CallOptions): string {
  const body: Record<string, unknown> = { ...raw, model: modelId, stream: false }
  delete body.stream_options
  if (body.temperature === undefined && call.temperature !== undefined) body.temperature = call.temperature
  if (body.max_tokens === undefined && body.max_completion_tokens === undefined && call.maxOutputTokens !== undefined) body.max_tokens = call.maxOutputTokens
  return JSON.stringify(body)
}

/**
 * Wraps an OpenAI-speaking provider so that a non-streaming call that carries the raw request body (from the
 * gateway) goes to the upstream as it came, over a keep-alive undici pool, and comes back as the upstream's bytes.
 * The router still picks the instance, applies limits, breakers, retries and deadlines: to it this is just a model.
 * Calls without a raw body (streams, health probes, other callers) use the wrapped provider's AI SDK model.
 */
export function passThroughProvider(inner: ProviderDefinition, pools: UpstreamPools, defaultRoot?: string, defaultKey?: () => string | undefined): ProviderDefinition {
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
          const raw = call.providerOptions?.[PASS_THROUGH_KEY]?.body as Record<string, unknown> | undefined
          if (raw === undefined || target === undefined) return model.doGenerate(call)
          const requestBody = upstreamBody(raw, settings.modelId, call)
          let response: Dispatcher.ResponseData
          try {
            response = await pools.get(target.origin).request({ path: target.pathname + target.search, method: 'POST', headers, body: requestBody, signal: call.abortSignal })
          } catch (error) {
            throw new APICallError({ message: `request to ${root} failed: ${(error as Error).message}`, url, requestBodyValues: raw, cause: error, isRetryable: true })
          }
          const text = await response.body.text()
          if (response.statusCode >= 400) {
            // Error headers matter (retry-after); success headers are not copied: nothing reads them.
            const responseHeaders = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]))
            const status = response.statusCode
            throw new APICallError({
              message: `upstream answered ${status}`,
              url,
              requestBodyValues: raw,
              statusCode: status,
              responseHeaders,
              responseBody: text.slice(0, 2000),
              isRetryable: status === 408 || status === 409 || status === 429 || status >= 500,
            })
          }
          let parsed: {
            model?: string
            error?: unknown
            choices?: { message?: { content?: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }; finish_reason?: string }[]
            usage?: { prompt_tokens?: number; completion_tokens?: number }
          }
          try {
            parsed = JSON.parse(text)
          } catch (error) {
            throw new APICallError({ message: 'upstream answered a body that is not JSON', url, requestBodyValues: raw, statusCode: 502, responseBody: text.slice(0, 2000), cause: error, isRetryable: true })
          }
          if (parsed.error !== undefined || !Array.isArray(parsed.choices)) {
            throw new APICallError({ message: 'upstream answered an error in a 200 body', url, requestBodyValues: raw, statusCode: 502, responseBody: text.slice(0, 2000), isRetryable: true })
          }
          const choice = parsed.choices[0]
          const content: LanguageModelV3Content[] = []
          if (typeof choice?.message?.content === 'string') content.push({ type: 'text', text: choice.message.content })
          for (const toolCall of choice?.message?.tool_calls ?? []) {
            content.push({ type: 'tool-call', toolCallId: toolCall.id, toolName: toolCall.function.name, input: toolCall.function.arguments })
          }
          const answer: PassThroughAnswer = { text, model: typeof parsed.model === 'string' ? parsed.model : settings.modelId }
          return {
            content,
            finishReason: { unified: finishReasons[choice?.finish_reason ?? 'stop'] ?? 'other', raw: choice?.finish_reason },
            usage: emptyUsage(parsed.usage?.prompt_tokens, parsed.usage?.completion_tokens),
            warnings: [],
            providerMetadata: { [PASS_THROUGH_KEY]: answer as unknown as Record<string, string> },
          }
        },
      }
      return passThrough
    },
  }
}

/** The upstream's body with its top-level `model` replaced by `model`; re-serialized only if the text is unusual. */
export function rewriteModel(answer: PassThroughAnswer, model: string): string {
  const needle = `"model":${JSON.stringify(answer.model)}`
  const at = answer.text.indexOf(needle)
  // The top-level `model` comes before `choices` in every OpenAI-compatible answer seen; if not, re-serialize.
  const choices = answer.text.indexOf('"choices"')
  if (at >= 0 && (choices < 0 || at < choices)) return `${answer.text.slice(0, at)}"model":${JSON.stringify(model)}${answer.text.slice(at + needle.length)}`
  const parsed = JSON.parse(answer.text) as Record<string, unknown>
  parsed.model = model
  return JSON.stringify(parsed)
}
