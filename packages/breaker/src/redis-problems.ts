import type { Disposable } from '@llmpool/schema'

/**
 * Where a Redis sharing reports its problems (unreachable, timeouts, malformed messages): to its `onError`
 * listeners, or, while nobody listens, in one process warning. Never a throw into the caller: the sharing carries on
 * locally. After `close()` (the sharing is disposed) nothing is reported.
 */
export class RedisProblems {
  readonly #listeners = new Set<{ listener: (error: Error) => void }>()
  #warned = false
  #closed = false

  constructor(
    /** What shares, for the warning: `llmpool breaker state sharing`. */
    private readonly subject: string,
    /** The warning's code. */
    private readonly code: string,
  ) {}

  onError(listener: (error: Error) => void): Disposable {
    const entry = { listener }
    this.#listeners.add(entry)
    return { dispose: () => void this.#listeners.delete(entry) }
  }

  readonly report = (error: unknown): void => {
    if (this.#closed) return
    const reported = error instanceof Error ? error : new Error(String(error))
    if (this.#listeners.size === 0) {
      if (!this.#warned) {
        this.#warned = true
        process.emitWarning(
          `${this.subject}: ${reported.message} (later Redis errors are not shown; listen with onError)`,
          { code: this.code },
        )
      }
      return
    }
    for (const entry of [...this.#listeners]) {
      try {
        entry.listener(reported)
      } catch (thrown) {
        queueMicrotask(() => {
          throw thrown
        })
      }
    }
  }

  close(): void {
    this.#closed = true
  }
}
