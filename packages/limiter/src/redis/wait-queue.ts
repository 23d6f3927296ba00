import type { Clock } from '@llmpool/schema'
import { AcquireAbortedError, AcquireTimeoutError } from '../errors'
import type { AcquireOptions, Acquisition, Denial, Lease } from '../types'
import { createWaiter, type Waiter as BaseWaiter } from '../waiter'

/** Longest wait between two tries when a rate limit denied: its retryAfterMs is exact unless another process refunds. */
const MAX_RATE_POLL_MS = 1000
/** Longest wait between two tries when concurrency denied: releases and reclaims anywhere also wake waiters (pub/sub). */
const MAX_CONCURRENCY_POLL_MS = 100
/** Longest wait between two tries while other processes are ahead: the head moving wakes waiters (pub/sub). */
const MAX_QUEUE_POLL_MS = 250
/**
 * A place in the shared queue lapses when its process has not asked for this long (it died, or hangs): longer than
 * every poll interval above, with room for a busy event loop. Until then it holds up the processes behind it.
 */
export const PLACE_TTL_MS = 3000

/** What one try from a place in the shared queue learned. */
export interface QueueAttempt {
  readonly result: Acquisition
  /** Whether Redis holds the place after this try (granted: no; denied: yes); undefined when Redis was not asked. */
  readonly inQueue?: boolean
  /** For a concurrency denial: ms until the earliest permit held expires, when Redis said. */
  readonly reclaimInMs?: number
}

/** What the queue needs from its limiter. */
export interface QueueOwner {
  /** One try from `place`: granted at the head of the shared queue; otherwise the place joins it or keeps its turn. */
  attemptFrom(weight: number, place: string): Promise<QueueAttempt>
  /** The place leaves the shared queue (this process has nobody waiting any more). */
  leave(place: string): void
  /** A new place id, unique across processes. */
  newPlace(): string
  /** The queue stopped being empty (subscribe to wake-ups from other processes). */
  onWait(): void
}

type Waiter = BaseWaiter & { readonly sequence: number; readonly deadline: number | undefined }

/**
 * This process's waiters for one Redis limiter, first in, first out, and this process's place in the limiter's
 * queue shared by all processes (see `lua/apply.ts`). Only the head asks Redis, from the place, polling with the
 * denial's retryAfterMs (capped) or sooner when woken; the others wait behind it. A grant goes to the process whose
 * place is the head of the shared queue; its next waiter takes a new place at the tail, so the processes that wait
 * take turns. While nobody waits here, acquisitions try at once and concurrently (so that auto-pipelining shares
 * their round trips), each from a new place: a denied one has its turn at once, and the process keeps one place.
 */
export class WaitQueue {
  private readonly waiters: Waiter[] = []
  private sequence = 0
  private pumping = false
  private woken = false
  private sleepTimer: unknown
  private endSleep: (() => void) | undefined
  private disposed = false
  /** This process's place in the shared queue, kept while it has waiters; a new one after each grant. */
  private place: string | undefined
  /** Redis may hold `place` (a try from it was denied, and none granted since). */
  private placed = false
  /** The latest denial's wait, for `tryAcquire` while others wait and for timeouts. */
  lastRetryAfterMs = 0

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
    private readonly owner: QueueOwner,
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
      // From a place of its own: if denied, this caller already has its turn in the shared queue.
      const place = this.owner.newPlace()
      const { result, inQueue } = await this.owner.attemptFrom(weight, place)
      if (inQueue) this.keep(place)
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
        if (deadline !== undefined && result.reason === 'rate' && this.clock.now() + result.retryAfterMs > deadline) {
          this.leaveIfIdle()
          throw new AcquireTimeoutError(this.name, result.retryAfterMs)
        }
      }
    }
    // The first try took a round trip: the caller may have given up meanwhile.
    let gaveUp: Error | undefined
    if (signal?.aborted) gaveUp = new AcquireAbortedError(this.name, signal.reason)
    else if (deadline !== undefined && this.clock.now() >= deadline)
      gaveUp = new AcquireTimeoutError(this.name, this.lastRetryAfterMs)
    else if (this.disposed) gaveUp = new AcquireAbortedError(this.name, new Error('limiter disposed'))
    if (gaveUp) {
      this.leaveIfIdle()
      throw gaveUp
    }
    return this.enqueue(sequence, weight, signal, deadline)
  }

  /**
   * A first try left `place` in the shared queue: it becomes this process's place, unless the process has one
   * already (several first tries at once), in which case it leaves.
   */
  private keep(place: string): void {
    if (this.place === undefined) {
      this.place = place
      this.placed = true
    } else if (this.place !== place) this.owner.leave(place)
  }

  /** Nobody waits here (a first try gave up): the place leaves the shared queue at once. */
  private leaveIfIdle(): void {
    if (this.waiters.length > 0 || this.pumping || this.place === undefined) return
    if (this.placed) this.owner.leave(this.place)
    this.place = undefined
    this.placed = false
  }

  private enqueue(
    sequence: number,
    weight: number,
    signal: AbortSignal | undefined,
    deadline: number | undefined,
  ): Promise<Lease> {
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
    if (this.waiters.length === 1) this.owner.onWait()
    void this.pump()
    return promise
  }

  /** A waiter gave up: out of the queue; the next one may try at once (from the same place). */
  private remove(waiter: Waiter): void {
    waiter.cleanup()
    const index = this.waiters.indexOf(waiter)
    if (index === -1) return
    this.waiters.splice(index, 1)
    if (index === 0) this.wake()
  }

  /** Capacity may be back, or the shared queue moved: the head tries now instead of at its next poll. */
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
        const place = (this.place ??= this.owner.newPlace())
        let attempt: QueueAttempt
        try {
          attempt = await this.owner.attemptFrom(head.weight, place)
        } catch (error) {
          // Redis unavailable and fail-closed: the head fails; the next head finds out on its own try. Whether the
          // place reached Redis is unknown: leaving it at the end is harmless either way.
          this.placed = true
          if (this.waiters[0] === head) {
            this.waiters.shift()
            head.cleanup()
            head.reject(error)
          }
          continue
        }
        const { result } = attempt
        if (attempt.inQueue !== undefined) this.placed = attempt.inQueue
        if (result.granted) {
          // The place was used up; the next waiter takes a new one, at the tail.
          if (!this.placed) this.place = undefined
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
        if (
          head.deadline !== undefined &&
          result.reason === 'rate' &&
          this.clock.now() + result.retryAfterMs > head.deadline
        ) {
          this.waiters.shift()
          head.cleanup()
          head.reject(new AcquireTimeoutError(this.name, result.retryAfterMs))
          continue
        }
        await this.sleep(pollDelay(result, attempt.reclaimInMs))
      }
    } finally {
      this.pumping = false
      // Nobody waits here any more: let the processes behind this place move up now rather than when it lapses.
      if (this.place !== undefined && this.placed) this.owner.leave(this.place)
      this.place = undefined
      this.placed = false
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

  /** Pending waiters reject with `AcquireAbortedError`; this process's place leaves the shared queue. */
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

/** How long the head sleeps after a denial, unless woken: capped per reason, and no later than a permit's expiry. */
function pollDelay(denial: Denial, reclaimInMs: number | undefined): number {
  const wait = Math.max(denial.retryAfterMs, 1)
  if (denial.reason === 'rate') return Math.min(wait, MAX_RATE_POLL_MS)
  if (denial.reason === 'queue') return Math.min(wait, MAX_QUEUE_POLL_MS)
  return Math.min(wait, MAX_CONCURRENCY_POLL_MS, reclaimInMs ?? Number.POSITIVE_INFINITY)
}
