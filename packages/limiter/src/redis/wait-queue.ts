import type { Clock } from '@llmpool/schema'
import { AcquireAbortedError, AcquireTimeoutError } from '../errors'
import type { AcquireOptions, Acquisition, Lease } from '../types'
import { createWaiter, type Waiter as BaseWaiter } from '../waiter'

/** Longest wait between two tries when a rate limit denied: its retryAfterMs is exact unless another process refunds. */
const MAX_RATE_POLL_MS = 1000
/** Longest wait between two tries when concurrency denied: releases in other processes also wake waiters (pub/sub). */
const MAX_CONCURRENCY_POLL_MS = 100

type Waiter = BaseWaiter & { readonly sequence: number; readonly deadline: number | undefined }

/**
 * This process's waiters for one Redis limiter, first in, first out. Only the head asks Redis, polling with the
 * denial's retryAfterMs (capped) or sooner when woken; the others wait behind it. While nobody waits, acquisitions
 * try at once and concurrently, so that auto-pipelining shares their round trips. Across processes there is no
 * queue: whoever asks first after capacity comes back gets it.
 */
export class WaitQueue {
  private readonly waiters: Waiter[] = []
  private sequence = 0
  private pumping = false
  private woken = false
  private sleepTimer: unknown
  private endSleep: (() => void) | undefined
  private disposed = false
  /** The latest denial's wait, for `tryAcquire` while others wait and for timeouts. */
  lastRetryAfterMs = 0

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
    private readonly attempt: (weight: number) => Promise<Acquisition>,
    /** Called when the queue stops being empty (to subscribe to release wake-ups). */
    private readonly onWait: () => void,
  ) {}

  get size(): number {
    return this.waiters.length
  }

  async acquire(weight: number, options: AcquireOptions): Promise<Lease> {
    const { signal, deadline } = options
    if (this.disposed) throw new AcquireAbortedError(this.name, new Error('limiter disposed'))
    if (signal?.aborted) throw new AcquireAbortedError(this.name, signal.reason)
    const sequence = ++this.sequence
    if (this.waiters.length === 0) {
      const result = await this.attempt(weight)
      if (result.granted) {
        if (signal?.aborted) {
          result.cancel()
          throw new AcquireAbortedError(this.name, signal.reason)
        }
        // Someone who came earlier was denied meanwhile: the capacity is theirs, and this one waits.
        const head = this.waiters[0]
        if (!head || head.sequence > sequence || head.weight !== weight) return result
        this.waiters.shift()
        head.cleanup()
        head.resolve(result)
      } else {
        this.lastRetryAfterMs = result.retryAfterMs
        if (deadline !== undefined && result.reason === 'rate' && this.clock.now() + result.retryAfterMs > deadline)
          throw new AcquireTimeoutError(this.name, result.retryAfterMs)
      }
    }
    // The first try took a round trip: the caller may have given up meanwhile.
    if (signal?.aborted) throw new AcquireAbortedError(this.name, signal.reason)
    if (deadline !== undefined && this.clock.now() >= deadline) throw new AcquireTimeoutError(this.name, this.lastRetryAfterMs)
    if (this.disposed) throw new AcquireAbortedError(this.name, new Error('limiter disposed'))
    return this.enqueue(sequence, weight, signal, deadline)
  }

  private enqueue(sequence: number, weight: number, signal: AbortSignal | undefined, deadline: number | undefined): Promise<Lease> {
    const { waiter, promise } = createWaiter(
      {
        limiter: this.name,
        clock: this.clock,
        weight,
        signal,
        deadline,
        remove: (gaveUp) => this.remove(gaveUp as Waiter),
        retryAfterMs: () => this.lastRetryAfterMs,
      },
      { sequence, deadline },
    )
    // In arrival order: an earlier caller may still be on its first try.
    let index = this.waiters.length
    while (index > 0 && this.waiters[index - 1]!.sequence > sequence) index--
    this.waiters.splice(index, 0, waiter)
    if (this.waiters.length === 1) this.onWait()
    void this.pump()
    return promise
  }

  /** A waiter gave up: out of the queue; the next one may try at once. */
  private remove(waiter: Waiter): void {
    waiter.cleanup()
    const index = this.waiters.indexOf(waiter)
    if (index === -1) return
    this.waiters.splice(index, 1)
    if (index === 0) this.wake()
  }

  /** Capacity may be back: the head tries now instead of at its next poll. */
  wake(): void {
    this.woken = true
    const end = this.endSleep
    if (end) end()
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.waiters.length > 0 && !this.disposed) {
        const head = this.waiters[0]!
        this.woken = false
        let result: Acquisition
        try {
          result = await this.attempt(head.weight)
        } catch (error) {
          // Redis unavailable and fail-closed: the head fails; the next head finds out on its own try.
          if (this.waiters[0] === head) {
            this.waiters.shift()
            head.cleanup()
            head.reject(error)
          }
          continue
        }
        if (result.granted) {
          if (this.waiters[0] === head) {
            this.waiters.shift()
            head.cleanup()
            head.resolve(result)
          } else {
            // The head left while its try was on the way: give everything back exactly.
            result.cancel()
          }
          continue
        }
        this.lastRetryAfterMs = result.retryAfterMs
        if (this.waiters[0] !== head || this.woken) continue
        if (head.deadline !== undefined && result.reason === 'rate' && this.clock.now() + result.retryAfterMs > head.deadline) {
          this.waiters.shift()
          head.cleanup()
          head.reject(new AcquireTimeoutError(this.name, result.retryAfterMs))
          continue
        }
        const cap = result.reason === 'rate' ? MAX_RATE_POLL_MS : MAX_CONCURRENCY_POLL_MS
        await this.sleep(Math.min(Math.max(result.retryAfterMs, 1), cap))
      }
    } finally {
      this.pumping = false
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        this.clock.clearTimeout(this.sleepTimer)
        this.sleepTimer = undefined
        this.endSleep = undefined
        resolve()
      }
      this.endSleep = end
      this.sleepTimer = this.clock.setTimeout(end, ms)
    })
  }

  /** Pending waiters reject with `AcquireAbortedError`. */
  dispose(): void {
    this.disposed = true
    const pending = this.waiters.splice(0)
    for (const waiter of pending) {
      waiter.cleanup()
      waiter.reject(new AcquireAbortedError(this.name, new Error('limiter disposed')))
    }
    this.wake()
  }
}
