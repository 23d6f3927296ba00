import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider'
import type { ConfigStore } from '@llmpool/config'
import type { Router } from '@llmpool/router'
import { UnknownWrapperError } from './errors'
import { type PoolLogger, REDACTED, requestRecord } from './logging'
import { applyToolSettings, type CallSettings, callSettings, timeoutOf } from './settings'

/** What a model needs from its pool. */
export interface ModelContext {
  store: ConfigStore
  router: Router
  logger: PoolLogger | undefined
  redactContent: boolean
}

/** `wrapper`: only a wrapper of the wrapper files; `any`: a wrapper, pool or task group. */
export type NameKind = 'wrapper' | 'any'

/** Every name a model can have, in the configuration given: wrappers, then pools, then task groups. */
export function namesOf(config: ConfigStore['current'], kind: NameKind): string[] {
  const wrappers = Object.keys(config.wrappers)
  return kind === 'wrapper' ? wrappers : [...wrappers, ...Object.keys(config.pools), ...Object.keys(config.task_groups)]
}

/** Looks a name up in the configuration in force: what the call goes to and which `[global]` applies. */
export function resolveName(context: ModelContext, name: string, kind: NameKind): CallSettings {
  const config = context.store.current
  const wrapper = Object.hasOwn(config.wrappers, name) ? config.wrappers[name] : undefined
  if (wrapper || (kind === 'any' && (Object.hasOwn(config.pools, name) || Object.hasOwn(config.task_groups, name))))
    return callSettings(name, wrapper, config)
  throw new UnknownWrapperError(name, namesOf(config, kind), kind === 'wrapper' ? 'wrapper' : 'wrapper, pool or task group')
}

function withoutOwnOptions(call: LanguageModelV3CallOptions): LanguageModelV3CallOptions {
  if (!call.providerOptions?.llmpool) return call
  const { llmpool: _own, ...providerOptions } = call.providerOptions
  return { ...call, providerOptions }
}

function textOf(content: readonly { type: string; text?: string }[]): string {
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('')
}

/**
 * One name as an AI SDK `LanguageModelV3`. The name is looked up in `store.current` on every call, so the model
 * follows hot reloads; a name that no longer exists fails with `UnknownWrapperError`.
 */
export class PoolLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3'
  readonly provider = 'llmpool'
  readonly supportedUrls = {}

  constructor(
    /** The wrapper, pool or task group name. */
    readonly modelId: string,
    private readonly context: ModelContext,
    private readonly kind: NameKind,
  ) {}

  private prepare(options: LanguageModelV3CallOptions, stream: boolean) {
    const settings = resolveName(this.context, this.modelId, this.kind)
    const call = withoutOwnOptions(applyToolSettings(options, settings))
    const logging = settings.global.logging
    const logger = this.context.logger
    const started = Date.now()
    const base = { wrapper: settings.name, target: settings.target, stream }
    if (logger && logging.enable_request_logging) logger.info({ ...base, request: requestRecord(call, this.context.redactContent) }, 'llmpool request')
    const logResponse =
      logger && logging.enable_response_logging
        ? (response: Record<string, unknown>) => logger.info({ ...base, durationMs: Date.now() - started, response }, 'llmpool response')
        : undefined
    const logFailure = logger
      ? (error: unknown) =>
          logger.warn({ ...base, durationMs: Date.now() - started, error: { name: (error as Error)?.name, code: (error as { code?: string })?.code, message: (error as Error)?.message } }, 'llmpool request failed')
      : undefined
    return { settings, call, route: { timeoutMs: timeoutOf(options, settings), signal: options.abortSignal }, logResponse, logFailure }
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { settings, call, route, logResponse, logFailure } = this.prepare(options, false)
    try {
      const { routing, ...result } = await this.context.router.generate(settings.target, call, route)
      logResponse?.({
        instance: routing.instance,
        attempts: routing.attempts.length,
        finishReason: result.finishReason.unified,
        usage: { inputTokens: result.usage.inputTokens.total, outputTokens: result.usage.outputTokens.total },
        toolCalls: result.content.filter((part) => part.type === 'tool-call').map((part) => part.toolName),
        text: this.context.redactContent ? REDACTED : textOf(result.content),
      })
      return result
    } catch (error) {
      logFailure?.(error)
      throw error
    }
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { settings, call, route, logResponse, logFailure } = this.prepare(options, true)
    let routed: Awaited<ReturnType<Router['stream']>>
    try {
      routed = await this.context.router.stream(settings.target, call, route)
    } catch (error) {
      logFailure?.(error)
      throw error
    }
    const { routing, stream, ...rest } = routed
    const llmpool = { instance: routing.instance, attempts: routing.attempts.length }
    let text = ''
    const context = this.context
    const tagged = stream.pipeThrough(
      new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform(part, controller) {
          if (logResponse && part.type === 'text-delta') text += part.delta
          if (part.type === 'error') logFailure?.(part.error)
          if (part.type === 'finish') {
            logResponse?.({
              ...llmpool,
              finishReason: part.finishReason.unified,
              usage: { inputTokens: part.usage.inputTokens.total, outputTokens: part.usage.outputTokens.total },
              text: context.redactContent ? REDACTED : text,
            })
            controller.enqueue({ ...part, providerMetadata: { ...part.providerMetadata, llmpool: { ...part.providerMetadata?.llmpool, ...llmpool } } })
            return
          }
          controller.enqueue(part)
        },
      }),
    )
    return { ...rest, stream: tagged }
  }
}
