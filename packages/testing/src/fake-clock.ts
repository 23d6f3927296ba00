import type { Clock } from '@llmpool/schema'

interface Timer {
  readonly at: number
  readonly id: number
  readonly callback: () => void
}

/**
 * A manual `Clock`: time moves only when a test says so, and due timers run in order (by time, then by creation).
 * Timers set by a running callback run in the same `advance()` when they fall due inside it.
 */
export class FakeClock implements Clock {
  private time: number
  /** Sorted by (at, id). */
  private timers: Timer[] = []
  private nextId = 1

  /** @param start the initial `now()`, in milliseconds. */
  constructor(start = 1_000_000) {
    this.time = start
  }

  now = (): number => this.time

  setTimeout = (callback: () => void, ms: number): unknown => {
    const timer: Timer = { at: this.time + (ms > 0 ? ms : 0), id: this.nextId++, callback }
    // Binary search for the insertion point: equal times keep creation order.
    let low = 0
    let high = this.timers.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((this.timers[middle] as Timer).at <= timer.at) low = middle + 1
      else high = middle
    }
    this.timers.splice(low, 0, timer)
    return timer.id
  }

  clearTimeout = (handle: unknown): void => {
    const index = this.timers.findIndex((timer) => timer.id === handle)
    if (index !== -1) this.timers.splice(index, 1)
  }

  /** Moves time forward by `ms`, running each due timer at its time and letting promise callbacks settle in between. */
  async advance(ms: number): Promise<void> {
    const end = this.time + Math.max(0, ms)
    await flushMicrotasks()
    for (let timer = this.takeDue(end); timer; timer = this.takeDue(end)) {
      this.time = Math.max(this.time, timer.at)
      timer.callback()
      await flushMicrotasks()
    }
    this.time = end
    await flushMicrotasks()
  }

  /** Moves time forward by `ms` synchronously, running due timers in order (promise callbacks run afterwards). */
  tick(ms: number): void {
    const end = this.time + Math.max(0, ms)
    for (let timer = this.takeDue(end); timer; timer = this.takeDue(end)) {
      this.time = Math.max(this.time, timer.at)
      timer.callback()
    }
    this.time = end
  }

  /** Jumps to the next timer and runs it (with the promises it settles). False when no timer is pending. */
  async next(): Promise<boolean> {
    const timer = this.timers[0]
    if (timer === undefined) return false
    await this.advance(timer.at - this.time)
    return true
  }

  /** Jumps from timer to timer until none is left (at most `limit` jumps, against timers that re-arm forever); returns the jumps made. */
  async runAll(limit = 10_000): Promise<number> {
    let count = 0
    while (count < limit && (await this.next())) count++
    return count
  }

  /** Timers set and not yet run or cleared. */
  get pendingTimers(): number {
    return this.timers.length
  }

  private takeDue(end: number): Timer | undefined {
    const first = this.timers[0]
    if (first === undefined || first.at > end) return undefined
    this.timers.shift()
    return first
  }
}

/**
 * Lets queued promise callbacks run: `rounds` turns of the microtask queue, no timers involved, so that it works
 * under `vi.useFakeTimers()` too.
 */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) await Promise.resolve()
}
