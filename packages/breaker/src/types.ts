import type { Disposable } from '@llmpool/schema'

/** Where a breaker stands. `half_open` admits a bounded number of trial calls. */
export type CircuitState = 'closed' | 'open' | 'half_open'

/** Why a breaker changed state. */
export type StateChangeReason =
  /** closed → open: `failureThreshold` consecutive counted failures. */
  | 'failure_threshold'
  /** open → half_open: the recovery time elapsed. */
  | 'recovery_time'
  /** half_open → closed: `halfOpenRequests` trials succeeded. */
  | 'trials_succeeded'
  /** half_open → open: a trial failed with a counted failure. */
  | 'trial_failed'
  /** half_open → open: a trial did not settle within `trialTimeoutMs`. */
  | 'trial_timeout'
  /** Another process sharing the breaker's state (see `shareBreakerState`) opened or closed it. */
  | 'remote'
  /** `restore(snapshot, { notify: true })` changed the state. */
  | 'restored'

/** One state transition, as heard by `onStateChange` listeners. */
export interface StateChange {
  /** The state before. */
  from: CircuitState
  /** The state after. */
  to: CircuitState
  /**
   * Clock time (ms) at which the transition took effect. For open → half_open this is `openedAt + recoveryTime`,
   * which may be earlier than the moment listeners hear it (see docs/breaker.md).
   */
  at: number
  /** Why it happened. */
  reason: StateChangeReason
  /** The counted failure that opened the breaker, for `failure_threshold`, `trial_failed` and `trial_timeout`. */
  error?: unknown
}

/** A listener of `onStateChange`. */
export type StateChangeListener = (change: StateChange) => void

/** A plain, JSON-serializable picture of a breaker, from `toJSON()`; `restore()` and `initialState` take it back. */
export interface BreakerSnapshot {
  /** The state at the time of the snapshot (open → half_open already applied if due). */
  state: CircuitState
  /** Consecutive counted failures so far while closed; 0 in the other states. */
  failures: number
  /** Clock time (ms) the breaker last opened; `null` while closed. Absolute: see docs/breaker.md on clocks. */
  openedAt: number | null
  /** The recovery time in force for the current or next opening, after backoff; the base value while closed. */
  recoveryTimeMs: number
  /** Consecutive re-openings (half_open → open) since the breaker last closed; drives `recoveryBackoff`. */
  reopenCount: number
}

/**
 * Admission to make one call, from `tryAcquire()`. Report exactly one outcome; the first of `success`, `failure`
 * and `release` wins and the others are ignored, so calling them again is harmless.
 */
export interface BreakerPermit {
  /** True when the call is a half-open trial: its outcome decides whether the breaker closes or opens again. */
  readonly trial: boolean
  /**
   * Aborts when a trial exceeds `trialTimeoutMs` (the trial then already counted as a failure); never aborts for a
   * call admitted while closed. Pass it on to the call.
   */
  readonly signal: AbortSignal
  /** The call succeeded. */
  success(): void
  /** The call failed; whether it counts is up to the breaker's `isFailure`. An uncounted failure is a `release()`. */
  failure(error: unknown): void
  /** The call's outcome says nothing about the upstream (the caller gave up): free the slot, decide nothing. */
  release(): void
}

/**
 * A half-open round as a `TrialCoordinator` answered a claim: whether this process runs the trials. Read `granted`
 * each time: a round lapses.
 */
export interface TrialRound {
  /** True while this process may run the half-open trials (up to `halfOpenRequests` at once); false while another does. */
  readonly granted: boolean
  /** When not granted: milliseconds until the other process's claim lapses, after which this breaker may claim again. */
  readonly retryAfterMs: number
  /** A trial started: keep the round this process's for `ttlMs` more (the trial's timeout). */
  extend(ttlMs: number): void
  /** The breaker left half-open (closed, opened again, restored, or stopped sharing): the next round is anyone's. */
  end(): void
}

/**
 * Decides which of the processes sharing a breaker runs its half-open trials, so that at most `halfOpenRequests`
 * run at once in total. `RedisBreakerGroup.add()` installs one on each breaker it shares (see
 * `CircuitBreaker.coordinateTrials`).
 */
export interface TrialCoordinator {
  /**
   * The breaker is half-open and a call asks for a trial: claim the round for `ttlMs` (the trial timeout). Answers
   * at once when it can (e.g. Redis is not connected), else with a promise that never rejects and settles within a
   * bounded time. When in doubt it grants: the breaker then behaves as an unshared one.
   */
  claim(ttlMs: number): TrialRound | Promise<TrialRound>
}

/** Options of `restore()`. */
export interface RestoreOptions {
  /** Tell `onStateChange` listeners when the restored state differs from the current one. Default false. */
  notify?: boolean
  /** The reason listeners hear when `notify` is set. Default `'restored'`. */
  reason?: StateChangeReason
}

/**
 * The breaker contract the router depends on. `CircuitBreaker` implements it; tests and other backends may too.
 */
export interface Breaker {
  /** The name given in the options, used in error messages and as the shared-state key. */
  readonly name: string | undefined
  /** The current state; reading it applies a due open → half_open transition. */
  readonly state: CircuitState
  /** Milliseconds until the breaker may admit a call again; 0 when it admits one now. */
  readonly retryAfterMs: number
  /** Runs `fn` if the breaker admits it; rejects with `BrokenCircuitError` otherwise. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>
  /** Asks for admission without running anything: a permit, or `undefined` when the breaker refuses. */
  tryAcquire(): BreakerPermit | undefined
  /** Calls `listener` on every transition, exactly once each, until the returned disposable is disposed. */
  onStateChange(listener: StateChangeListener): Disposable
  /** A plain snapshot of the state. */
  toJSON(): BreakerSnapshot
  /** Replaces the state with `snapshot`; silent unless `options.notify`. */
  restore(snapshot: BreakerSnapshot, options?: RestoreOptions): void
}
