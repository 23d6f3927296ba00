import { type EmbeddingModelV3, type LanguageModelV3, NoSuchModelError, type ProviderV3 } from '@ai-sdk/provider'

/**
 * A `ProviderV3` whose language and embedding models are the pool's wrappers, pools and task groups. Image models do
 * not exist in llmpool and throw `NoSuchModelError`.
 */
export function createPoolProvider(
  model: (name: string) => LanguageModelV3,
  embeddingModel?: (name: string) => EmbeddingModelV3,
): ProviderV3 {
  const none = (modelType: 'embeddingModel' | 'imageModel') => (modelId: string) => {
    throw new NoSuchModelError({
      modelId,
      modelType,
      message: `llmpool serves language and embedding models only (asked for the ${modelType} "${modelId}")`,
    })
  }
  return {
    specificationVersion: 'v3',
    languageModel: (modelId) => model(modelId),
    embeddingModel: embeddingModel ?? none('embeddingModel'),
    imageModel: none('imageModel'),
  }
}
