import { type Clock, type Disposable, unref } from '@llmpool/schema'
import { BrokenCircuitError } from './broken-circuit-error'
import { type BreakerOptions, MAX_TIMER_MS, type ResolvedBreakerOptions, resolveOptions } from './options'
import { Permit, type PermitOutcome, type PermitOwner } from './permit'
import { runWithPermit } from './run-with-permit'
import { checkSnapshot } from './snapshot'
import { TrialTimeoutError } from './trial-timeout-error'
import type {
  Breaker,
  BreakerPermit,
  BreakerSnapshot,
  CircuitState,
  RestoreOptions,
  StateChange,
  StateChangeListener,
  StateChangeReason,
  TrialCoordinator,
  TrialRound,
} from './types'
import { TrialGate } from './trial-gate'

/** Reports an error thrown by a user callback without letting it break the breaker, as EventTarget does. */
function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}

/**
 * A consecutive-failure circuit breaker: closed → open after `failureThreshold` consecutive counted failures →
 * half-open after the recovery time → closed when `halfOpenRequests` trials succeed, or open again when one fails.
 *
 * The open → half-open transition is computed from the clock whenever the breaker is asked (no timer on the call
 * path); one unref'd timer per opening also applies it on time, so listeners hear it without traffic.
 * Semantics and a worked timeline: docs/breaker.md.
 */
export class CircuitBreaker implements Breaker, Disposable {
  readonly name: string | undefined
  /** The clock this breaker reads; shared-state integrations convert between absolute and relative times with it. */
  readonly clock: Clock
  readonly #options: ResolvedBreakerOptions
  #state: CircuitState = 'closed'
  #failures = 0
  #openedAt: number | null = null
  #recoveryTimeMs: number
  #reopenCount = 0
  /** Bumped on every state change and restore; permits of an older epoch are stale. */
  #epoch = 0
  readonly #trials = new Set<Permit>()
  #trialSuccesses = 0
  readonly #listeners = new Set<{ listener: StateChangeListener }>()
  readonly #pending: StateChange[] = []
  #emitting = false
  #halfOpenTimer: unknown = undefined
  #disposed = false
  /** Whether this process runs the half-open trials, when several processes share this breaker. */
  readonly #gate: TrialGate
  readonly #owner: PermitOwner = { settle: (permit, outcome, error) => this.#settle(permit, outcome, error) }

  constructor(options: BreakerOptions) {
    this.#options = resolveOptions(options)
    this.name = this.#options.name
    this.clock = this.#options.clock
    this.#recoveryTimeMs = this.#options.recoveryTimeMs
    this.#gate = new TrialGate(this.clock, this.#options.trialTimeoutMs)
    if (this.#options.initialState !== undefined) this.#apply(this.#options.initialState)
  }

  /** The current state; reading it applies (and reports) a due open → half_open transition. */
  get state(): CircuitState {
    this.#refresh()
    return this.#state
  }

  /** Milliseconds until a call may be admitted: 0 when one would be now. */
  get retryAfterMs(): number {
    this.#refresh()
    const now = this.clock.now()
    if (this.#state === 'open') return Math.max(0, Math.ceil((this.#openedAt ?? now) + this.#recoveryTimeMs - now))
    if (this.#state !== 'half_open') return 0
    if (!this.#hasTrialSlot()) {
      let earliest = Number.POSITIVE_INFINITY
      for (const trial of this.#trials) earliest = Math.min(earliest, trial.deadline)
      return Number.isFinite(earliest) ? Math.max(0, Math.ceil(earliest - now)) : 0
    }
    // A free slot, but shared: another process may hold the trials, or the claim is yet to be answered.
    return this.#gate.retryAfterMs(now) ?? 0
  }

  /**
   * Runs `fn` if the breaker admits it, passing a signal that aborts when `signal` aborts or (for a half-open
   * trial) when `trialTimeoutMs` elapses. Rejects with `BrokenCircuitError` without calling `fn` when the breaker is
   * open or every trial slot is taken; with `TrialTimeoutError` when a trial times out; with the caller's abort
   * reason as soon as `signal` aborts (that call does not count). Otherwise settles as `fn` does.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted()
    let permit = this.#acquire()
    const claiming = permit === undefined ? this.#gate.claiming : undefined
    if (claiming !== undefined) {
      // Half-open and shared: wait for the answer to the claim of the trials (bounded by the coordinator).
      await claiming
      signal?.throwIfAborted()
      permit = this.#acquire()
    }
    if (permit === undefined) throw this.#refusal()
    return runWithPermit(permit, fn, signal)
  }

  /**
   * Admission without running anything, for callers that make the call themselves (the router): a permit to report
   * the outcome on, or `undefined` when the breaker refuses (open, or half-open with every trial slot taken, or with
   * the trials another process's while the breaker is shared). Synchronous: a half-open breaker that must first ask
   * its coordinator refuses this call and admits the next one once the answer is in.
   */
  tryAcquire(): BreakerPermit | undefined {
    return this.#acquire()
  }

  /**
   * Lets `coordinator` decide which process runs the half-open trials of a breaker shared by several processes
   * (`RedisBreakerGroup.add()` calls it). While half-open, this breaker admits trials only while its claim is
   * granted; a closed or open breaker never asks. Returns a disposable that stops the coordination.
   */
  coordinateTrials(coordinator: TrialCoordinator): Disposable {
    return this.#gate.use(coordinator)
  }

  /** Calls `listener` once per transition, in order, until disposed. A listener that throws does not stop others. */
  onStateChange(listener: StateChangeListener): Disposable {
    if (typeof listener !== 'function') throw new TypeError(`onStateChange needs a function; got ${typeof listener}`)
    const entry = { listener }
    this.#listeners.add(entry)
    return { dispose: () => void this.#listeners.delete(entry) }
  }

  /** A plain snapshot; a due open → half_open transition is applied first. */
  toJSON(): BreakerSnapshot {
    this.#refresh()
    return {
      state: this.#state,
      failures: this.#failures,
      openedAt: this.#openedAt,
      recoveryTimeMs: this.#recoveryTimeMs,
      reopenCount: this.#reopenCount,
    }
  }

  /**
   * Replaces the state with `snapshot` (checked; a bad one throws a `RangeError`). In-flight calls become stale:
   * their outcomes are ignored. Listeners hear nothing unless `options.notify` is set and the state differs.
   */
  restore(snapshot: BreakerSnapshot, options: RestoreOptions = {}): void {
    const checked = checkSnapshot(snapshot, 'snapshot', this.name)
    this.#refresh()
    const from = this.#state
    const round = this.#apply(checked)
    if (options.notify === true && checked.state !== from) {
      this.#emit({ from, to: checked.state, at: this.clock.now(), reason: options.reason ?? 'restored' })
    }
    round?.end()
  }

  /** Cancels the half-open timer and removes every listener. The breaker keeps working, computing states lazily. */
  dispose(): void {
    this.#disposed = true
    this.#cancelHalfOpenTimer()
    this.#listeners.clear()
  }

  #acquire(): Permit | undefined {
    this.#refresh()
    if (this.#state === 'closed') return new Permit(this.#owner, this.#epoch, undefined)
    if (this.#state !== 'half_open' || !this.#hasTrialSlot() || !this.#gate.mayRun()) return undefined
    const { clock, trialTimeoutMs, name } = this.#options
    const permit = new Permit(this.#owner, this.#epoch, {
      clock,
      timeoutMs: trialTimeoutMs,
      timeoutError: () => new TrialTimeoutError({ timeoutMs: trialTimeoutMs, breakerName: name }),
    })
    this.#trials.add(permit)
    this.#gate.started()
    return permit
  }

  #hasTrialSlot(): boolean {
    return this.#trials.size + this.#trialSuccesses < this.#options.halfOpenRequests
  }

  #refusal(): BrokenCircuitError {
    const code = this.#state === 'open' ? 'circuit_open' : 'circuit_half_open_full'
    return new BrokenCircuitError({ code, retryAfterMs: this.retryAfterMs, breakerName: this.name })
  }

  #settle(permit: Permit, outcome: PermitOutcome, error: unknown): void {
    if (permit.epoch !== this.#epoch) return
    const counted = outcome === 'timeout' || (outcome === 'failure' && this.#counts(error))
    if (permit.trial) {
      this.#trials.delete(permit)
      if (outcome === 'success') {
        this.#trialSuccesses += 1
        if (this.#trialSuccesses >= this.#options.halfOpenRequests) this.#transition('closed', 'trials_succeeded')
      } else if (counted) {
        this.#reopenCount += 1
        this.#recoveryTimeMs = this.#backedOff(this.#reopenCount)
        this.#transition('open', outcome === 'timeout' ? 'trial_timeout' : 'trial_failed', error)
      }
      return
    }
    if (outcome === 'success') {
      this.#failures = 0
    } else if (counted) {
      this.#failures += 1
      if (this.#failures >= this.#options.failureThreshold) this.#transition('open', 'failure_threshold', error)
    }
  }

  /** Asks `isFailure`; one that throws counts the failure, and its error is rethrown in a microtask. */
  #counts(error: unknown): boolean {
    try {
      return this.#options.isFailure(error) === true
    } catch (thrown) {
      rethrowLater(thrown)
      return true
    }
  }

  #backedOff(reopenCount: number): number {
    const { recoveryTimeMs, recoveryBackoff } = this.#options
    if (recoveryBackoff === undefined) return recoveryTimeMs
    return Math.min(recoveryTimeMs * recoveryBackoff.factor ** reopenCount, recoveryBackoff.maxMs)
  }

  /** Applies a due open → half_open transition. */
  #refresh(): void {
    if (this.#state !== 'open' || this.#openedAt === null) return
    const due = this.#openedAt + this.#recoveryTimeMs
    if (this.clock.now() >= due) this.#transition('half_open', 'recovery_time', undefined, due)
  }

  #transition(to: CircuitState, reason: StateChangeReason, error?: unknown, at = this.clock.now()): void {
    const from = this.#state
    const round = this.#enter(to)
    if (to === 'open') {
      this.#openedAt = at
      this.#scheduleHalfOpen()
    } else if (to === 'closed') {
      this.#openedAt = null
      this.#reopenCount = 0
      this.#recoveryTimeMs = this.#options.recoveryTimeMs
    }
    this.#emit(error === undefined ? { from, to, at, reason } : { from, to, at, reason, error })
    // After listeners heard it (a shared breaker publishes the change first), the next round is anyone's.
    round?.end()
  }

  /**
   * Starts a new epoch in `state`: in-flight permits become stale, trial and failure counts start over. Returns the
   * half-open round this process held, for the caller to end once the change is heard.
   */
  #enter(state: CircuitState): TrialRound | undefined {
    this.#state = state
    this.#epoch += 1
    this.#trials.clear()
    this.#trialSuccesses = 0
    this.#failures = 0
    this.#cancelHalfOpenTimer()
    return this.#gate.leave()
  }

  #apply(snapshot: BreakerSnapshot): TrialRound | undefined {
    const round = this.#enter(snapshot.state)
    const closed = snapshot.state === 'closed'
    this.#failures = closed ? snapshot.failures : 0
    this.#openedAt = closed ? null : snapshot.openedAt
    this.#reopenCount = closed ? 0 : snapshot.reopenCount
    this.#recoveryTimeMs = closed ? this.#options.recoveryTimeMs : snapshot.recoveryTimeMs
    this.#scheduleHalfOpen()
    return round
  }

  #scheduleHalfOpen(): void {
    if (this.#disposed || this.#state !== 'open' || this.#openedAt === null) return
    const delay = Math.min(Math.max(0, this.#openedAt + this.#recoveryTimeMs - this.clock.now()), MAX_TIMER_MS)
    const handle = this.clock.setTimeout(() => {
      if (this.#halfOpenTimer !== handle) return
      this.#halfOpenTimer = undefined
      this.#refresh()
      // Still open: the delay was capped, or the clock fired early. Wait again.
      if (this.#halfOpenTimer === undefined) this.#scheduleHalfOpen()
    }, delay)
    this.#halfOpenTimer = handle
    unref(handle)
  }

  #cancelHalfOpenTimer(): void {
    if (this.#halfOpenTimer === undefined) return
    this.clock.clearTimeout(this.#halfOpenTimer)
    this.#halfOpenTimer = undefined
  }

  /** Delivers changes in order, also when a listener causes another transition while being called. */
  #emit(change: StateChange): void {
    this.#pending.push(change)
    if (this.#emitting) return
    this.#emitting = true
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
        for (const entry of [...this.#listeners]) {
          if (!this.#listeners.has(entry)) continue
          try {
            entry.listener(next)
          } catch (error) {
            rethrowLater(error)
          }
        }
      }
    } finally {
      this.#emitting = false
    }
  }
}
