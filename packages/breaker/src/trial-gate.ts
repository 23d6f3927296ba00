import type { Clock, Disposable } from '@llmpool/schema'
import type { TrialCoordinator, TrialRound } from './types'

/** The round of a breaker that asks nobody, or whose coordinator failed: its trials are its own business. */
const LOCAL_ROUND: TrialRound = { granted: true, retryAfterMs: 0, extend: () => {}, end: () => {} }

/** Reports an error thrown by a user callback without letting it break the breaker. */
function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}

/**
 * Whether this process runs the half-open trials of a breaker shared by several processes, as its
 * `TrialCoordinator` answered. Without a coordinator it always does. The breaker asks `mayRun()` before admitting
 * a trial; the first ask of a half-open epoch starts a claim and is refused (the router's `tryAcquire` stays
 * synchronous), the answer admits later asks. Every state change `leave()`s the round, so that an answer to an
 * older claim is never adopted.
 */
export class TrialGate {
  #coordinator: TrialCoordinator | undefined = undefined
  /** The answer to this half-open epoch's claim, once there is one. */
  #round: TrialRound | undefined = undefined
  /** A claim on its way. */
  #claiming: Promise<void> | undefined = undefined
  /** When another process's round may be claimed again (clock time). */
  #claimAgainAt = 0
  /** Bumped by `leave()`: claims of an earlier epoch are dropped. */
  #generation = 0

  constructor(
    private readonly clock: Clock,
    /** How long a claimed round lasts without a trial starting: the trial timeout. */
    private readonly ttlMs: number,
  ) {}

  /** A claim on its way, for `execute()` to wait for. */
  get claiming(): Promise<void> | undefined {
    return this.#claiming
  }

  /** Lets `coordinator` decide from now on; the disposable stops it (ending a round this process holds). */
  use(coordinator: TrialCoordinator): Disposable {
    if (typeof coordinator !== 'object' || coordinator === null || typeof coordinator.claim !== 'function') {
      throw new TypeError(`coordinateTrials needs an object with claim(); got ${typeof coordinator}`)
    }
    this.leave()?.end()
    this.#coordinator = coordinator
    return {
      dispose: () => {
        if (this.#coordinator !== coordinator) return
        this.#coordinator = undefined
        this.leave()?.end()
      },
    }
  }

  /** Half-open, a trial slot is free: may this process run the trial? May start a claim (and then answers false). */
  mayRun(): boolean {
    const coordinator = this.#coordinator
    if (coordinator === undefined) return true
    const round = this.#round
    if (round !== undefined && (round.granted || this.clock.now() < this.#claimAgainAt)) return round.granted
    if (this.#claiming !== undefined) return false
    this.#round = undefined
    const generation = this.#generation
    const adopt = (answer: TrialRound): void => {
      if (this.#generation !== generation || this.#coordinator !== coordinator) {
        // The breaker left that half-open epoch meanwhile: the round is not needed.
        if (answer.granted) answer.end()
        return
      }
      this.#claiming = undefined
      this.#round = answer
      this.#claimAgainAt = answer.granted ? 0 : this.clock.now() + Math.max(0, answer.retryAfterMs)
    }
    let answer: TrialRound | Promise<TrialRound>
    try {
      answer = coordinator.claim(this.ttlMs)
    } catch (error) {
      rethrowLater(error)
      answer = LOCAL_ROUND
    }
    if (answer instanceof Promise) {
      this.#claiming = answer.then(adopt, (error: unknown) => {
        rethrowLater(error)
        adopt(LOCAL_ROUND)
      })
      return false
    }
    adopt(answer)
    return answer.granted
  }

  /** A trial started: the round stays this process's for the trial's timeout. */
  started(): void {
    this.#round?.extend(this.ttlMs)
  }

  /** Half-open: ms until this gate may let a trial through, when it holds the breaker back; else undefined. */
  retryAfterMs(now: number): number | undefined {
    if (this.#coordinator === undefined || this.#round?.granted === true) return undefined
    // Another process runs the trials until its round lapses; or a claim is on its way (or starts with the next ask).
    return this.#round !== undefined && now < this.#claimAgainAt ? Math.max(1, Math.ceil(this.#claimAgainAt - now)) : 1
  }

  /** The breaker changed state: forgets the round and any claim; returns the round if this process held it, to end. */
  leave(): TrialRound | undefined {
    const round = this.#round
    this.#generation += 1
    this.#round = undefined
    this.#claiming = undefined
    this.#claimAgainAt = 0
    return round?.granted ? round : undefined
  }
}
