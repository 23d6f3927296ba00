import type { Clock } from '@llmpool/schema'

/** A manual clock: time moves only when a test advances it, firing due timers in order. */
export class FakeClock implements Clock {
  private time: number
  private timers: { at: number; id: number; callback: () => void }[] = []
  private nextId = 1

  constructor(start = 1_000_000) {
    this.time = start
  }

  now = (): number => this.time

  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.nextId++
    this.timers.push({ at: this.time + Math.max(0, ms), id, callback })
    return id
  }

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((timer) => timer.id !== handle)
  }

  /** Moves time forward by `ms`, running each timer at its time; lets promise callbacks run in between. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await flush()
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((timer) => timer !== due)
      this.time = Math.max(this.time, due.at)
      due.callback()
    }
    this.time = end
    await flush()
  }

  /** Moves time forward by `ms` at once, running due timers synchronously (for tests without promises). */
  tick(ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((timer) => timer !== due)
      this.time = Math.max(this.time, due.at)
      due.callback()
    }
    this.time = end
  }

  get pendingTimers(): number {
    return this.timers.length
  }
}

/** Lets queued promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}
