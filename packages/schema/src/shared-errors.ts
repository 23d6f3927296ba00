import { LLMPoolError } from './errors'

const missingPackageMarker = 'llmpool.error.MissingPackageError'
const missingPackageSymbol = Symbol.for(missingPackageMarker)
const disposedMarker = 'llmpool.error.DisposedError'
const disposedSymbol = Symbol.for(disposedMarker)
const redisMarker = 'llmpool.error.RedisProblemError'
const redisSymbol = Symbol.for(redisMarker)

/**
 * A feature was used whose optional peer dependency is not installed (ioredis, pino, an AI SDK provider,
 * `@opentelemetry/api`). Every package throws this one class, with the same message shape, so that a program (or a
 * person reading a log) recognises it wherever it comes from. The failed import is the `cause`.
 */
export class MissingPackageError extends LLMPoolError<'missing_optional_package'> {
  private readonly [missingPackageSymbol] = true
  /** The package to install (`ioredis`, `@ai-sdk/anthropic`). */
  readonly packageName: string
  /** What needed it, for a person (`a Redis URL in @llmpool/limiter`). */
  readonly feature: string

  constructor(options: {
    /** What needed the package, written to start a sentence: `tracing in @llmpool/router`. */
    feature: string
    packageName: string
    /** Another way out, appended in parentheses: `or pass your own ioredis client as \`redis\``. */
    alternative?: string
    cause?: unknown
  }) {
    const alternative = options.alternative === undefined ? '' : ` (${options.alternative})`
    super({
      code: 'missing_optional_package',
      message: `${options.feature} needs the optional package ${options.packageName}: npm install ${options.packageName}${alternative}`,
      cause: options.cause,
    })
    this.name = 'MissingPackageError'
    this.packageName = options.packageName
    this.feature = options.feature
  }

  static override isInstance(error: unknown): error is MissingPackageError {
    return LLMPoolError.hasMarker(error, missingPackageMarker)
  }
}

/**
 * Imports an optional peer dependency, or throws `MissingPackageError` naming what to install. `load` is the caller's
 * own `() => import('ioredis')`: the import must be written in the package that declares the peer dependency, since
 * that is where a strict installation (pnpm) lets it resolve.
 */
export async function importOptional<T>(
  packageName: string,
  feature: string,
  load: () => Promise<T>,
  alternative?: string,
): Promise<T> {
  try {
    return await load()
  } catch (error) {
    throw new MissingPackageError({
      feature,
      packageName,
      cause: error,
      ...(alternative === undefined ? {} : { alternative }),
    })
  }
}

/** A method was called on an object after its `dispose()` / `close()`: a router, a Redis breaker group. */
export class DisposedError extends LLMPoolError<'disposed'> {
  private readonly [disposedSymbol] = true
  /** What was disposed, as the message names it (`the router`). */
  readonly subject: string

  constructor(subject: string) {
    super({ code: 'disposed', message: `${subject} is disposed` })
    this.name = 'DisposedError'
    this.subject = subject
  }

  static override isInstance(error: unknown): error is DisposedError {
    return LLMPoolError.hasMarker(error, disposedMarker)
  }
}

/**
 * Why Redis could not be used, as the `cause` of a `LimiterUnavailableError` or as reported to the `onError`
 * listeners of a Redis breaker group or cooldown sharing (which carry on locally; nothing is thrown at the caller).
 *
 * - `redis_not_connected`: the connection is not ready (connecting, reconnecting, closed).
 * - `redis_timeout`: Redis did not answer in time.
 * - `redis_malformed_message`: another process published something this version cannot read; it was ignored.
 */
export type RedisProblemCode = 'redis_not_connected' | 'redis_timeout' | 'redis_malformed_message'

/** A problem talking to Redis (see `RedisProblemCode`). The message never contains the Redis URL or its password. */
export class RedisProblemError extends LLMPoolError<RedisProblemCode> {
  private readonly [redisSymbol] = true

  constructor(code: RedisProblemCode, message: string, cause?: unknown) {
    super({ code, message, cause })
    this.name = 'RedisProblemError'
  }

  static override isInstance(error: unknown): error is RedisProblemError {
    return LLMPoolError.hasMarker(error, redisMarker)
  }
}
