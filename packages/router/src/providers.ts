import type { EmbeddingModelV3, LanguageModelV3 } from '@ai-sdk/provider'
import { importOptional } from '@llmpool/schema'
import { UnknownProviderError } from './errors'

/** What a provider needs to make a model: the model name and the echelon's credentials. */
export interface ProviderModelSettings {
  /** The provider part of `provider:model`. */
  provider: string
  /** The model part of `provider:model`. */
  modelId: string
  /** The echelon's `api_key`; undefined or empty: the provider's own default (usually an environment variable). */
  apiKey?: string
  /** The echelon's `base_url`; undefined or empty: the provider's default. */
  baseURL?: string
}

/**
 * Makes models for one provider name. The built-in ones (`openai`, `anthropic`, and `openai-compatible` for any
 * other name with a `base_url`) are registered the same way a user's own are.
 */
export interface ProviderDefinition {
  /** An AI SDK `LanguageModelV3` for the settings. Called once per instance (models are reused). */
  createModel(settings: ProviderModelSettings): LanguageModelV3 | Promise<LanguageModelV3>
  /**
   * An AI SDK `EmbeddingModelV3` for the settings, used by `router.embed` (called once per instance). A provider
   * without it has no embeddings: routing `embed` to a target with such an instance fails with
   * `EmbeddingsUnsupportedError` before any call. The built-in `openai` and `openai-compatible` have it; `anthropic`
   * does not (Anthropic has no embeddings API).
   */
  createEmbeddingModel?(settings: ProviderModelSettings): EmbeddingModelV3 | Promise<EmbeddingModelV3>
  /**
   * A cheap health probe, or undefined when the provider has none: resolve when healthy, reject otherwise.
   * The built-ins call `GET {baseURL}/models`.
   */
  probe?(settings: ProviderModelSettings, signal: AbortSignal): Promise<void>
}

/** Imports an AI SDK provider package, an optional peer dependency: without it, `MissingPackageError`. */
function load<T>(specifier: string, what: string): Promise<T> {
  return importOptional(specifier, what, () => import(specifier) as Promise<T>)
}

const empty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value)

/**
 * The design document writes `https://api.openai.com` (no `/v1`); the SDKs want the API root. A base URL without a
 * path gets `/v1`; one with a path is used as written.
 */
export function apiRoot(baseURL: string | undefined): string | undefined {
  const url = empty(baseURL)
  if (url === undefined) return undefined
  try {
    const parsed = new URL(url)
    if (parsed.pathname === '/' || parsed.pathname === '') return `${url.replace(/\/+$/, '')}/v1`
  } catch {
    // Not a URL: let the SDK report it.
  }
  return url.replace(/\/+$/, '')
}

/**
 * The API root a provider uses when the echelon gives no `base_url`, read as the AI SDK reads it: `OPENAI_BASE_URL`
 * / `ANTHROPIC_BASE_URL` from the environment (at the time of the call), else the public API.
 */
export function defaultApiRoot(
  provider: 'openai' | 'anthropic',
  env: Record<string, string | undefined> = process.env,
): string {
  const configured = provider === 'openai' ? env.OPENAI_BASE_URL : env.ANTHROPIC_BASE_URL
  return apiRoot(configured) ?? (provider === 'openai' ? 'https://api.openai.com/v1' : 'https://api.anthropic.com/v1')
}

function modelsProbe(defaultRoot: () => string, headers: (apiKey: string | undefined) => Record<string, string>) {
  return async (settings: ProviderModelSettings, signal: AbortSignal) => {
    const root = apiRoot(settings.baseURL) ?? defaultRoot()
    const response = await fetch(`${root}/models`, { headers: headers(empty(settings.apiKey)), signal })
    await response.body?.cancel()
    if (!response.ok) {
      const error = new Error(`health probe GET ${root}/models answered ${response.status}`) as Error & {
        statusCode: number
      }
      error.statusCode = response.status
      throw error
    }
  }
}

export interface OpenAIProviderOptions {
  /** `chat` (default): Chat Completions, which every OpenAI-compatible server speaks. `responses`: the Responses API. */
  api?: 'chat' | 'responses'
}

/** `openai:MODEL` through `@ai-sdk/openai`. */
export function openAIProvider(options: OpenAIProviderOptions = {}): ProviderDefinition {
  return {
    async createModel(settings) {
      const { createOpenAI } = await load<typeof import('@ai-sdk/openai')>('@ai-sdk/openai', 'the openai provider')
      const provider = createOpenAI({ apiKey: empty(settings.apiKey), baseURL: apiRoot(settings.baseURL) })
      return options.api === 'responses' ? provider.responses(settings.modelId) : provider.chat(settings.modelId)
    },
    async createEmbeddingModel(settings) {
      const { createOpenAI } = await load<typeof import('@ai-sdk/openai')>('@ai-sdk/openai', 'the openai provider')
      return createOpenAI({ apiKey: empty(settings.apiKey), baseURL: apiRoot(settings.baseURL) }).embeddingModel(
        settings.modelId,
      )
    },
    probe: modelsProbe(
      () => defaultApiRoot('openai'),
      (apiKey): Record<string, string> => {
        const key = apiKey ?? process.env.OPENAI_API_KEY
        return key ? { authorization: `Bearer ${key}` } : {}
      },
    ),
  }
}

/** `anthropic:MODEL` through `@ai-sdk/anthropic`. */
export function anthropicProvider(): ProviderDefinition {
  return {
    async createModel(settings) {
      const { createAnthropic } = await load<typeof import('@ai-sdk/anthropic')>(
        '@ai-sdk/anthropic',
        'the anthropic provider',
      )
      return createAnthropic({ apiKey: empty(settings.apiKey), baseURL: apiRoot(settings.baseURL) })(settings.modelId)
    },
    probe: modelsProbe(
      () => defaultApiRoot('anthropic'),
      (apiKey) => {
        const key = apiKey ?? process.env.ANTHROPIC_API_KEY
        return { 'anthropic-version': '2023-06-01', ...(key ? { 'x-api-key': key } : {}) }
      },
    ),
  }
}

/** Any other `NAME:MODEL` with a `base_url`: an OpenAI-compatible server through `@ai-sdk/openai-compatible`. */
export function openAICompatibleProvider(): ProviderDefinition {
  return {
    async createModel(settings) {
      const root = apiRoot(settings.baseURL)
      if (root === undefined) throw new UnknownProviderError(settings.provider)
      const { createOpenAICompatible } = await load<typeof import('@ai-sdk/openai-compatible')>(
        '@ai-sdk/openai-compatible',
        `provider "${settings.provider}"`,
      )
      return createOpenAICompatible({
        name: settings.provider,
        baseURL: root,
        apiKey: empty(settings.apiKey),
      }).chatModel(settings.modelId)
    },
    async createEmbeddingModel(settings) {
      const root = apiRoot(settings.baseURL)
      if (root === undefined) throw new UnknownProviderError(settings.provider)
      const { createOpenAICompatible } = await load<typeof import('@ai-sdk/openai-compatible')>(
        '@ai-sdk/openai-compatible',
        `provider "${settings.provider}"`,
      )
      return createOpenAICompatible({
        name: settings.provider,
        baseURL: root,
        apiKey: empty(settings.apiKey),
      }).embeddingModel(settings.modelId)
    },
    probe: async (settings, signal) => {
      const root = apiRoot(settings.baseURL)
      if (root === undefined) return
      await modelsProbe(
        () => root,
        (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      )(settings, signal)
    },
  }
}

/** The providers a router knows by name; `openai-compatible` serves any other name that has a base URL. */
export class ProviderRegistry {
  private readonly providers = new Map<string, ProviderDefinition>()
  private readonly fallback = openAICompatibleProvider()

  constructor(custom: Record<string, ProviderDefinition> = {}, openai: OpenAIProviderOptions = {}) {
    this.providers.set('openai', openAIProvider(openai))
    this.providers.set('anthropic', anthropicProvider())
    this.providers.set('openai-compatible', this.fallback)
    for (const [name, definition] of Object.entries(custom)) this.providers.set(name, definition)
  }

  register(name: string, definition: ProviderDefinition): void {
    this.providers.set(name, definition)
  }

  get(name: string): ProviderDefinition {
    return this.providers.get(name) ?? this.fallback
  }
}
