import type { FailureKind } from '@llmpool/breaker'
import { LLMPoolError } from '@llmpool/schema'

/** One upstream call of a request, as reported in `AllAttemptsFailedError.attempts` and in events. */
export interface AttemptRecord {
  /** `task_group.echelon/provider:model`. */
  instance: string
  /** The pool the attempt was made for, when the request entered through a pool. */
  pool?: string
  /** 0 for the first call on this instance, 1.. for its retries. */
  retry: number
  /** What went wrong; undefined for the successful attempt. */
  error?: { kind: FailureKind; message: string; statusCode?: number }
  durationMs: number
  /** A hedged call: started while an earlier call of the same request was still running. */
  hedge?: true
  /** Stopped by the router because another call answered first (hedging); it counts against no one. */
  cancelled?: true
}

export type RouterErrorCode =
  | 'no_instance_available'
  | 'rate_limited'
  | 'all_attempts_failed'
  | 'request_timeout'
  | 'unknown_target'
  | 'request_rejected'
  | 'invalid_request'
  | 'local_failure'
  | 'embeddings_unsupported'

const markers = {
  RouterError: 'llmpool.error.RouterError',
  UnknownProviderError: 'llmpool.error.UnknownProviderError',
  NoInstanceAvailableError: 'llmpool.error.NoInstanceAvailableError',
  RateLimitedError: 'llmpool.error.RateLimitedError',
  AllAttemptsFailedError: 'llmpool.error.AllAttemptsFailedError',
  RequestTimeoutError: 'llmpool.error.RequestTimeoutError',
  UnknownTargetError: 'llmpool.error.UnknownTargetError',
  RequestRejectedError: 'llmpool.error.RequestRejectedError',
  InvalidRequestError: 'llmpool.error.InvalidRequestError',
  LocalFailureError: 'llmpool.error.LocalFailureError',
  EmbeddingsUnsupportedError: 'llmpool.error.EmbeddingsUnsupportedError',
} as const
const symbols = {
  RouterError: Symbol.for(markers.RouterError),
  UnknownProviderError: Symbol.for(markers.UnknownProviderError),
  NoInstanceAvailableError: Symbol.for(markers.NoInstanceAvailableError),
  RateLimitedError: Symbol.for(markers.RateLimitedError),
  AllAttemptsFailedError: Symbol.for(markers.AllAttemptsFailedError),
  RequestTimeoutError: Symbol.for(markers.RequestTimeoutError),
  UnknownTargetError: Symbol.for(markers.UnknownTargetError),
  RequestRejectedError: Symbol.for(markers.RequestRejectedError),
  InvalidRequestError: Symbol.for(markers.InvalidRequestError),
  LocalFailureError: Symbol.for(markers.LocalFailureError),
  EmbeddingsUnsupportedError: Symbol.for(markers.EmbeddingsUnsupportedError),
}

/** Base of the router's errors: a code, whether trying again later may help, and the attempts made. */
export abstract class RouterError<Code extends RouterErrorCode = RouterErrorCode> extends LLMPoolError<Code> {
  private readonly [symbols.RouterError] = true
  /** True when the same request may succeed later (capacity, health or breakers recover). */
  abstract readonly isRetryable: boolean
  constructor(
    code: Code,
    message: string,
    /** The target (pool or task group) the request was for. */
    readonly target: string,
    /** Every upstream call made, in order. */
    readonly attempts: readonly AttemptRecord[],
    cause?: unknown,
  ) {
    super({ code, message, cause })
  }

  /** True for any of the router's request errors (any copy of the package); false for other llmpool errors. */
  static override isInstance(error: unknown): error is RouterError {
    return LLMPoolError.hasMarker(error, markers.RouterError)
  }

  toJSON() {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      target: this.target,
      isRetryable: this.isRetryable,
      attempts: this.attempts,
    }
  }
}

/**
 * An instance names a provider that is neither registered (built in, or in the router's `providers` option) nor
 * reachable as an OpenAI-compatible server (it has no `base_url`). Thrown when the router first makes the instance's
 * model; a request reaching it fails with `LocalFailureError` whose `cause` is this.
 */
export class UnknownProviderError extends LLMPoolError<'unknown_provider'> {
  private readonly [symbols.UnknownProviderError] = true
  constructor(
    /** The provider's name, as the instance's `NAME:MODEL` writes it. */
    readonly provider: string,
  ) {
    super({
      code: 'unknown_provider',
      message: `provider "${provider}" is not registered, and without a base_url it cannot be reached as an OpenAI-compatible server`,
    })
    this.name = 'UnknownProviderError'
  }
  static override isInstance(error: unknown): error is UnknownProviderError {
    return LLMPoolError.hasMarker(error, markers.UnknownProviderError)
  }
}

/** No instance of the target can be tried: all are open, unhealthy, resting (cooldown) or draining. */
export class NoInstanceAvailableError extends RouterError<'no_instance_available'> {
  private readonly [symbols.NoInstanceAvailableError] = true
  readonly isRetryable = true
  constructor(
    target: string,
    attempts: readonly AttemptRecord[],
    /** When the first instance is expected back (breaker recovery, health recovery, end of a cooldown), ms from now. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      'no_instance_available',
      `no instance of "${target}" is available (breakers open, instances unhealthy or resting)${retryAfterMs === undefined ? '' : `; the first is back in ${Math.ceil(retryAfterMs)} ms`}`,
      target,
      attempts,
    )
    this.name = 'NoInstanceAvailableError'
  }
  static override isInstance(error: unknown): error is NoInstanceAvailableError {
    return LLMPoolError.hasMarker(error, markers.NoInstanceAvailableError)
  }
}

/** Every instance is at its limits and none frees up before the request's deadline. */
export class RateLimitedError extends RouterError<'rate_limited'> {
  private readonly [symbols.RateLimitedError] = true
  readonly isRetryable = true
  constructor(
    target: string,
    attempts: readonly AttemptRecord[],
    /** When capacity is expected back (ms from now). */ readonly retryAfterMs: number,
  ) {
    super(
      'rate_limited',
      `"${target}" is at its rate or concurrency limits; retry after ${Math.ceil(retryAfterMs)} ms`,
      target,
      attempts,
    )
    this.name = 'RateLimitedError'
  }
  static override isInstance(error: unknown): error is RateLimitedError {
    return LLMPoolError.hasMarker(error, markers.RateLimitedError)
  }
}

/** Every attempt allowed (by fallback settings and the attempt budget) failed. */
export class AllAttemptsFailedError extends RouterError<'all_attempts_failed'> {
  private readonly [symbols.AllAttemptsFailedError] = true
  readonly isRetryable: boolean
  constructor(target: string, attempts: readonly AttemptRecord[], lastError: unknown) {
    const last = attempts[attempts.length - 1]
    super(
      'all_attempts_failed',
      `all ${attempts.length} attempt${attempts.length === 1 ? '' : 's'} for "${target}" failed${last?.error ? `; last: ${last.instance}: ${last.error.message}` : ''}`,
      target,
      attempts,
      lastError,
    )
    this.name = 'AllAttemptsFailedError'
    this.isRetryable = attempts.some(
      (attempt) =>
        attempt.error && !['bad_request', 'content_policy', 'not_found', 'auth'].includes(attempt.error.kind),
    )
  }
  static override isInstance(error: unknown): error is AllAttemptsFailedError {
    return LLMPoolError.hasMarker(error, markers.AllAttemptsFailedError)
  }
}

/** The request's overall deadline passed. */
export class RequestTimeoutError extends RouterError<'request_timeout'> {
  private readonly [symbols.RequestTimeoutError] = true
  readonly isRetryable = true
  constructor(
    target: string,
    attempts: readonly AttemptRecord[],
    readonly timeoutMs: number,
  ) {
    super('request_timeout', `the request for "${target}" did not complete within ${timeoutMs} ms`, target, attempts)
    this.name = 'RequestTimeoutError'
  }
  static override isInstance(error: unknown): error is RequestTimeoutError {
    return LLMPoolError.hasMarker(error, markers.RequestTimeoutError)
  }
}

/** The request itself was refused by an upstream (400, content policy): another instance would refuse it too. */
export class RequestRejectedError extends RouterError<'request_rejected'> {
  private readonly [symbols.RequestRejectedError] = true
  readonly isRetryable = false
  constructor(
    target: string,
    attempts: readonly AttemptRecord[],
    cause: unknown,
    readonly kind: FailureKind,
    readonly statusCode: number | undefined,
  ) {
    super(
      'request_rejected',
      `the request for "${target}" was rejected (${kind}): ${attempts[attempts.length - 1]?.error?.message ?? ''}`,
      target,
      attempts,
      cause,
    )
    this.name = 'RequestRejectedError'
  }
  static override isInstance(error: unknown): error is RequestRejectedError {
    return LLMPoolError.hasMarker(error, markers.RequestRejectedError)
  }
}

/**
 * The request cannot be sent as given: the provider could not convert it (an unsupported content type, an invalid
 * argument) before any upstream call. Another instance would refuse it too; no instance is blamed.
 */
export class InvalidRequestError extends RouterError<'invalid_request'> {
  private readonly [symbols.InvalidRequestError] = true
  readonly isRetryable = false
  constructor(target: string, attempts: readonly AttemptRecord[], cause: unknown) {
    super(
      'invalid_request',
      `the request for "${target}" cannot be sent: ${cause instanceof Error ? cause.message : String(cause)}`,
      target,
      attempts,
      cause,
    )
    this.name = 'InvalidRequestError'
  }
  static override isInstance(error: unknown): error is InvalidRequestError {
    return LLMPoolError.hasMarker(error, markers.InvalidRequestError)
  }
}

/**
 * This process failed while making a call (out of file descriptors, a bug in a provider): not the upstream's doing,
 * so no instance is blamed. `cause` holds the error.
 */
export class LocalFailureError extends RouterError<'local_failure'> {
  private readonly [symbols.LocalFailureError] = true
  readonly isRetryable = true
  constructor(target: string, attempts: readonly AttemptRecord[], cause: unknown) {
    super(
      'local_failure',
      `the request for "${target}" failed in this process before reaching an upstream (${cause instanceof Error ? cause.name : 'error'})`,
      target,
      attempts,
      cause,
    )
    this.name = 'LocalFailureError'
  }
  static override isInstance(error: unknown): error is LocalFailureError {
    return LLMPoolError.hasMarker(error, markers.LocalFailureError)
  }
}

/** No wrapper, pool or task group has that name (or it is disabled). */
export class UnknownTargetError extends RouterError<'unknown_target'> {
  private readonly [symbols.UnknownTargetError] = true
  readonly isRetryable = false
  constructor(target: string, suggestion: string) {
    super('unknown_target', `no enabled wrapper, pool or task group is named "${target}"${suggestion}`, target, [])
    this.name = 'UnknownTargetError'
  }
  static override isInstance(error: unknown): error is UnknownTargetError {
    return LLMPoolError.hasMarker(error, markers.UnknownTargetError)
  }
}

/**
 * `router.embed` was called for a target some of whose instances have a provider without embedding models
 * (`anthropic`, or a provider of your own without `createEmbeddingModel`). Nothing was sent: the configuration
 * should route embeddings to a task group or pool whose echelons list embedding models only (docs/routing.md).
 */
export class EmbeddingsUnsupportedError extends RouterError<'embeddings_unsupported'> {
  private readonly [symbols.EmbeddingsUnsupportedError] = true
  readonly isRetryable = false
  constructor(
    target: string,
    /** The instances whose provider cannot embed. */
    readonly instances: readonly string[],
  ) {
    super(
      'embeddings_unsupported',
      `"${target}" cannot serve embeddings: the provider of ${instances.length === 1 ? 'instance' : 'instances'} ${instances.map((key) => `"${key}"`).join(', ')} has no embedding models`,
      target,
      [],
    )
    this.name = 'EmbeddingsUnsupportedError'
  }
  static override isInstance(error: unknown): error is EmbeddingsUnsupportedError {
    return LLMPoolError.hasMarker(error, markers.EmbeddingsUnsupportedError)
  }
}
