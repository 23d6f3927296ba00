import type { BreakerPermit } from './types'

/**
 * Runs `fn` under an admitted permit and reports its outcome: success; a failure (which the breaker classifies);
 * or a release when the caller aborted. `fn`'s signal aborts when `signal` does, or when a trial permit times out.
 * Settles as soon as either abort happens, without waiting for `fn` to notice.
 */
export function runWithPermit<T>(
  permit: BreakerPermit,
  fn: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controller = new AbortController()
    let done = false
    const finish = (): boolean => {
      if (done) return false
      done = true
      signal?.removeEventListener('abort', onCallerAbort)
      if (permit.trial) permit.signal.removeEventListener('abort', onTrialTimeout)
      return true
    }
    const onCallerAbort = (): void => {
      if (!finish()) return
      permit.release()
      controller.abort(signal?.reason)
      reject(signal?.reason)
    }
    const onTrialTimeout = (): void => {
      if (!finish()) return
      controller.abort(permit.signal.reason)
      reject(permit.signal.reason)
    }
    signal?.addEventListener('abort', onCallerAbort, { once: true })
    if (permit.trial) permit.signal.addEventListener('abort', onTrialTimeout, { once: true })

    let result: Promise<T>
    try {
      result = Promise.resolve(fn(controller.signal))
    } catch (error) {
      result = Promise.reject(error)
    }
    result.then(
      (value) => {
        if (!finish()) return
        permit.success()
        resolve(value)
      },
      (error: unknown) => {
        if (!finish()) return
        // Whatever `fn` failed with after the caller aborted (an AbortError, or not) says nothing about the upstream.
        if (signal?.aborted) permit.release()
        else permit.failure(error)
        reject(error)
      },
    )
  })
}
