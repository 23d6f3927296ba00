import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider'
import type { NameKind, PoolCalls } from './calls'

/**
 * One name as an AI SDK `LanguageModelV3`. The name is looked up in the plan in force on every call, so the model
 * follows hot reloads; a name that no longer exists fails with `UnknownWrapperError`.
 */
export class PoolLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3'
  readonly provider = 'llmpool'
  readonly supportedUrls = {}

  constructor(
    /** The wrapper, pool or task group name. */
    readonly modelId: string,
    private readonly calls: PoolCalls,
    private readonly kind: NameKind,
  ) {}

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { routing: _routing, ...result } = await this.calls.generate(this.modelId, options, { kind: this.kind })
    return result
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { routing: _routing, ...result } = await this.calls.stream(this.modelId, options, { kind: this.kind })
    return result
  }
}
