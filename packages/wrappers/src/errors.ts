import { LLMPoolError } from '@llmpool/schema'

export type WrapperErrorCode = 'unknown_wrapper' | 'function_calling_disabled'

const markers = {
  UnknownWrapperError: 'llmpool.error.UnknownWrapperError',
  FunctionCallingDisabledError: 'llmpool.error.FunctionCallingDisabledError',
} as const
const symbols = {
  UnknownWrapperError: Symbol.for(markers.UnknownWrapperError),
  FunctionCallingDisabledError: Symbol.for(markers.FunctionCallingDisabledError),
}

/** No enabled wrapper (or, for `pool.model()`, pool or task group) has that name — now, or any more after a reload. */
export class UnknownWrapperError extends LLMPoolError<'unknown_wrapper'> {
  private readonly [symbols.UnknownWrapperError] = true
  constructor(
    /** The name asked for. */
    readonly wrapperName: string,
    /** The names that exist in the configuration in force. */
    readonly available: readonly string[],
    what = 'wrapper',
  ) {
    super({
      code: 'unknown_wrapper',
      message: `no enabled ${what} is named "${wrapperName}"; available: ${available.length > 0 ? available.map((name) => `"${name}"`).join(', ') : '(none)'}`,
    })
    this.name = 'UnknownWrapperError'
  }
  static override isInstance(error: unknown): error is UnknownWrapperError {
    return LLMPoolError.hasMarker(error, markers.UnknownWrapperError)
  }
}

/** A request with tools reached a task-group wrapper whose `[global] function_calling_enabled = false`. */
export class FunctionCallingDisabledError extends LLMPoolError<'function_calling_disabled'> {
  private readonly [symbols.FunctionCallingDisabledError] = true
  constructor(
    /** The wrapper the request went to. */
    readonly wrapperName: string,
    /** Names of the tools the request offered. */
    readonly toolNames: readonly string[],
  ) {
    super({
      code: 'function_calling_disabled',
      message: `wrapper "${wrapperName}" has function_calling_enabled = false, but the request offers tools (${toolNames.join(', ')}); remove the tools or enable function calling in its wrappers file`,
    })
    this.name = 'FunctionCallingDisabledError'
  }
  static override isInstance(error: unknown): error is FunctionCallingDisabledError {
    return LLMPoolError.hasMarker(error, markers.FunctionCallingDisabledError)
  }
}
