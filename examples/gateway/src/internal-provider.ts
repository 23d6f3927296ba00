import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import type { ProviderDefinition } from '@llmpool/router'

/**
 * A custom provider: an in-house OpenAI-compatible inference service that wants a header of its own on every call.
 * Instances name it as `internal:MODEL` in the task groups; its `base_url` and `api_key` come from the echelon.
 */
export function internalProvider(source: string): ProviderDefinition {
  return {
    createModel(settings) {
      if (!settings.baseURL) throw new Error(`provider "internal" needs a base_url (instance ${settings.modelId})`)
      return createOpenAICompatible({
        name: 'internal',
        baseURL: settings.baseURL,
        ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
        headers: { 'x-request-source': source },
      }).chatModel(settings.modelId)
    },
  }
}
