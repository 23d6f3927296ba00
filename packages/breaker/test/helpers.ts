import type { Clock } from '@llmpool/schema'
import type { StateChange } from '@llmpool/breaker'

/** A clock that moves only when told; `advance()` runs due timers in time order, each at its own time. */
export class ManualClock implements Clock {
  #now: number
  #nextId = 1
  readonly #timers = new Map<number, { at: number; callback: () => void }>()

  constructor(start = 1_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  /** Timers not yet run or cleared. */
  get pendingTimers(): number {
    return this.#timers.size
  }

  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined
      for (const timer of this.#timers) {
        if (timer[1].at <= target && (next === undefined || timer[1].at < next[1].at)) next = timer
      }
      if (next === undefined) break
      this.#timers.delete(next[0])
      this.#now = next[1].at
      next[1].callback()
    }
    this.#now = target
  }
}

/** An error the default predicate counts (an HTTP 500, as the AI SDK reports it). */
export function serverError(message = 'upstream failed'): Error {
  return Object.assign(new Error(message), { name: 'AI_APICallError', statusCode: 500 })
}

/** An error the default predicate does not count (an HTTP 400). */
export function badRequest(message = 'bad request'): Error {
  return Object.assign(new Error(message), { name: 'AI_APICallError', statusCode: 400 })
}

/** A promise with its resolve and reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

/** Records every state change of a breaker as `from→to:reason`. */
export function record(breaker: { onStateChange(listener: (change: StateChange) => void): unknown }): StateChange[] {
  const changes: StateChange[] = []
  breaker.onStateChange((change) => changes.push(change))
  return changes
}

export function transitions(changes: StateChange[]): string[] {
  return changes.map((change) => `${change.from}→${change.to}:${change.reason}`)
}
