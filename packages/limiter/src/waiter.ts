import type { Clock } from '@llmpool/schema'
import { AcquireAbortedError, AcquireTimeoutError } from './errors'
import type { Lease } from './types'

/** One `acquire()` waiting in a queue: settle it with `resolve` / `reject`; `cleanup` drops its timer and listener. */
export interface Waiter {
  readonly weight: number
  resolve(lease: Lease): void
  reject(error: unknown): void
  cleanup(): void
}

export interface WaiterOptions {
  /** The limiter's name, for the errors. */
  limiter: string
  clock: Clock
  weight: number
  signal: AbortSignal | undefined
  deadline: number | undefined
  /** Takes a waiter that gave up out of the queue. */
  remove(waiter: Waiter): void
  /** When capacity is expected back, for the timeout error. */
  retryAfterMs(): number
}

/**
 * A waiter and its promise, shared by every backend's queue: it rejects with `AcquireAbortedError` when the signal
 * aborts and with `AcquireTimeoutError` at the deadline, taking itself out of the queue first. The caller puts the
 * waiter in its queue.
 */
export function createWaiter<Extra extends object>(
  options: WaiterOptions,
  extra: Extra,
): { waiter: Waiter & Extra; promise: Promise<Lease> } {
  const { limiter, clock, signal, deadline } = options
  let waiter!: Waiter & Extra
  const promise = new Promise<Lease>((resolve, reject) => {
    let deadlineTimer: unknown
    const onAbort = () => {
      options.remove(waiter)
      reject(new AcquireAbortedError(limiter, signal?.reason))
    }
    waiter = Object.assign(extra, {
      weight: options.weight,
      resolve,
      reject,
      cleanup: () => {
        signal?.removeEventListener('abort', onAbort)
        if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer)
      },
    })
    signal?.addEventListener('abort', onAbort, { once: true })
    if (deadline !== undefined) {
      deadlineTimer = clock.setTimeout(
        () => {
          options.remove(waiter)
          reject(new AcquireTimeoutError(limiter, options.retryAfterMs()))
        },
        Math.max(0, deadline - clock.now()),
      )
    }
  })
  return { waiter, promise }
}
