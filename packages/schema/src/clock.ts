/**
 * Where llmpool reads time and sets timers. Everything that waits or measures takes one, so that tests can pass a
 * fake clock (and `vi.useFakeTimers()` works with the default, which looks the globals up at each call).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Runs `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown
  /** Cancels a timer set by `setTimeout`. */
  clearTimeout(handle: unknown): void
}

/** The real clock. Arrow functions, so globals are looked up at call time, never captured at import. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** A disposable subscription (`onStateChange`, `subscribe`): call `dispose()` to stop listening. */
export interface Disposable {
  dispose(): void
}
