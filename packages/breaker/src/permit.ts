import { type Clock, unref } from '@llmpool/schema'
import type { BreakerPermit } from './types'

/** How a permit ended: reported by its holder, or `timeout` when a trial outlived `trialTimeoutMs`. */
export type PermitOutcome = 'success' | 'failure' | 'release' | 'timeout'

/** The breaker side of a permit: hears the one outcome each permit reports. */
export interface PermitOwner {
  settle(permit: Permit, outcome: PermitOutcome, error: unknown): void
}

/** What a trial permit needs to bound itself. */
export interface TrialBound {
  clock: Clock
  timeoutMs: number
  timeoutError: () => Error
}

/**
 * One admission. `epoch` is the breaker's state epoch when it was issued: an outcome reported after the breaker
 * changed state (or was restored) is stale and ignored, so late results never double-count or re-trip.
 */
export class Permit implements BreakerPermit {
  readonly trial: boolean
  readonly epoch: number
  /** Clock time by which a trial times out; `Infinity` for calls admitted while closed. */
  readonly deadline: number
  readonly #owner: PermitOwner
  readonly #bound: TrialBound | undefined
  #settled = false
  #controller: AbortController | undefined
  #timer: unknown = undefined

  constructor(owner: PermitOwner, epoch: number, bound: TrialBound | undefined) {
    this.#owner = owner
    this.epoch = epoch
    this.trial = bound !== undefined
    this.#bound = bound
    if (bound === undefined) {
      this.deadline = Number.POSITIVE_INFINITY
    } else {
      this.deadline = bound.clock.now() + bound.timeoutMs
      this.#controller = new AbortController()
      this.#timer = bound.clock.setTimeout(() => this.#expire(), bound.timeoutMs)
      unref(this.#timer)
    }
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }

  success(): void {
    this.#finish('success', undefined)
  }

  failure(error: unknown): void {
    this.#finish('failure', error)
  }

  release(): void {
    this.#finish('release', undefined)
  }

  #finish(outcome: PermitOutcome, error: unknown): void {
    if (this.#settled) return
    this.#settled = true
    if (this.#timer !== undefined) {
      this.#bound?.clock.clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#owner.settle(this, outcome, error)
  }

  #expire(): void {
    this.#timer = undefined
    if (this.#settled || this.#bound === undefined) return
    const error = this.#bound.timeoutError()
    // Count the failure first, so that whoever reacts to the abort already sees the breaker open again.
    this.#finish('timeout', error)
    this.#controller?.abort(error)
  }
}
