import type { Clock } from '@llmpool/schema'

interface Waiter {
  ticket: number
  wake(): void
}

/**
 * Requests waiting for capacity, first in first out within a queue (one queue per target: requests for other
 * targets compete for other instances and never wait behind them). A waiter wakes when capacity may be back — a lease
 * was released anywhere in the router, or its own timer (the shortest `retryAfterMs` it saw) fired — then tries
 * again; if it still finds none it waits again with its original ticket, so it keeps its place in line. A release
 * wakes the first waiter of each queue only, so one freed lease does not set every waiter racing for it.
 */
export class CapacityWaiters {
  private readonly queues = new Map<string, Waiter[]>()
  private tickets = 0
  private waiting = 0

  constructor(private readonly clock: Clock) {}

  /** A place in line, taken once per request. */
  ticket(): number {
    return ++this.tickets
  }

  /** Waiters in all queues. */
  get size(): number {
    return this.waiting
  }

  /** Waits in `queue` until woken or `ms` pass; rejects with the signal's reason on abort. */
  wait(queue: string, ticket: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    let waiters = this.queues.get(queue)
    if (!waiters) this.queues.set(queue, (waiters = []))
    const line = waiters
    return new Promise((resolve, reject) => {
      const done = () => {
        this.clock.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const index = line.indexOf(waiter)
        if (index !== -1) {
          line.splice(index, 1)
          this.waiting--
          if (line.length === 0 && this.queues.get(queue) === line) this.queues.delete(queue)
        }
      }
      const waiter: Waiter = {
        ticket,
        wake: () => {
          done()
          resolve()
        },
      }
      const onAbort = () => {
        done()
        reject(signal?.reason)
      }
      const timer = this.clock.setTimeout(() => waiter.wake(), Math.max(1, ms))
      signal?.addEventListener('abort', onAbort, { once: true })
      let index = line.findIndex((other) => other.ticket > ticket)
      if (index === -1) index = line.length
      line.splice(index, 0, waiter)
      this.waiting++
    })
  }

  /** Capacity may be back: the first waiter of every queue tries again. */
  notify(): void {
    if (this.waiting === 0) return
    for (const waiters of [...this.queues.values()]) waiters[0]?.wake()
  }
}
