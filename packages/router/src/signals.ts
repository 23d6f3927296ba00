import type { Clock } from '@llmpool/schema'

/** An AbortSignal that aborts when any of `signals` does, with that signal's reason. */
export function anySignal(signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined)
  const listeners: (() => void)[] = []
  for (const signal of present) {
    if (signal.aborted) {
      controller.abort(signal.reason)
      break
    }
    const onAbort = () => controller.abort(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    listeners.push(() => signal.removeEventListener('abort', onAbort))
  }
  return { signal: controller.signal, dispose: () => listeners.forEach((remove) => remove()) }
}

/** An error named `TimeoutError`, as `AbortSignal.timeout()` produces: classified as a timeout, not an abort. */
export function timeoutError(message: string): Error {
  const error = new Error(message)
  error.name = 'TimeoutError'
  return error
}

/** A signal that aborts with a `TimeoutError` after `ms` on `clock`. */
export function timeoutSignal(clock: Clock, ms: number, message: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const timer = clock.setTimeout(() => controller.abort(timeoutError(message)), Math.max(0, ms))
  unref(timer)
  return { signal: controller.signal, dispose: () => clock.clearTimeout(timer) }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export function unref(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null && 'unref' in handle && typeof handle.unref === 'function') handle.unref()
}
