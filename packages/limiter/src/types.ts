/** The kinds of limit llmpool enforces. */
export type LimiterKind = 'token_bucket' | 'fixed_window' | 'sliding_window' | 'concurrency' | 'composite'

/** Capacity granted by a limiter. */
export interface Lease {
  readonly granted: true
  /** How much capacity this lease holds (the weight it was acquired with). */
  readonly weight: number
  /**
   * The call is over: gives back what must be given back (a concurrency permit). Rate capacity (tokens, window
   * slots) stays consumed. Idempotent.
   */
  release(): void
  /**
   * The call never happened: gives back everything, rate capacity included, as far as the limiter can (exactly for
   * a token bucket, a fixed window in the same window and a concurrency permit; for a sliding window, exactly when
   * nothing was acquired after it). Used to roll back a composite acquisition. Idempotent; implies `release()`.
   */
  cancel(): void
}

/** No capacity now. */
export interface Denial {
  readonly granted: false
  /**
   * Milliseconds until capacity may be available. Exact for rate limits; for a concurrency limit an estimate (the
   * average time a lease has been held), since it depends on when calls in flight end.
   */
  readonly retryAfterMs: number
  /** What was short: rate capacity, concurrency, or others waiting ahead (FIFO). */
  readonly reason: 'rate' | 'concurrency' | 'queue'
}

export type Acquisition = Lease | Denial

export interface AcquireOptions {
  /** Aborting it removes the waiter from the queue and rejects with `AcquireAbortedError`. */
  signal?: AbortSignal
  /**
   * Absolute time (in the limiter clock's milliseconds) after which waiting is pointless: rejects with
   * `AcquireTimeoutError` at that time, or at once when capacity cannot come back before it.
   */
  deadline?: number
}

/** A limiter's state, for metrics and the admin view. */
export interface LimiterState {
  kind: LimiterKind
  /** The most it admits: bucket size, requests per window, concurrency limit. */
  limit: number
  /** Capacity available now: tokens, slots left in the window, free permits. */
  available: number
  /** Leases held and not yet released (all kinds count them). */
  inFlight: number
  /** Waiters queued in `acquire()`. */
  queued: number
  /** Milliseconds until capacity next grows by itself (refill, window start, oldest slot leaving); undefined when it only grows on release. */
  nextRefillMs: number | undefined
  /** For a composite: the state of each part. */
  parts?: LimiterState[]
}

/**
 * The limiter contract every backend implements. The router asks each candidate instance with `tryAcquire` and
 * skips the saturated ones; when none has capacity it waits with `acquire`.
 */
export interface Limiter {
  /** Which limit this is, for errors and metrics. */
  readonly name: string
  readonly kind: LimiterKind
  /** Capacity now, or a denial with the time to wait; never waits. Sync for the memory backend. */
  tryAcquire(weight?: number): Acquisition | Promise<Acquisition>
  /** Waits (FIFO) for capacity, within `deadline`, until `signal` aborts. */
  acquire(weight?: number, options?: AcquireOptions): Promise<Lease>
  state(): LimiterState | Promise<LimiterState>
  /**
   * New limit values, same state (a configuration reload): the new limits apply to the counts kept — permits held,
   * window entries, tokens (capped at a new bucket size). `limits` is one spec per part, in the parts' order: a plain
   * limiter takes one spec or a list of one, a composite a list as long as its parts (the router passes an
   * instance's `LimitSpec[]` either way). Returns false, changing nothing, when a kind or the number of parts
   * differs: the caller then makes a new limiter. A bad value throws a `RangeError`, changing nothing. Waiters try
   * again at once; a waiter heavier than the new capacity rejects with a `RangeError`. Optional in this contract;
   * every limiter of `@llmpool/limiter` has it. See docs/limits.md, "Reconfiguring".
   */
  reconfigure?(limits: LimitSpec | readonly LimitSpec[]): boolean
  /** Stops timers and connections; pending waiters reject with `AcquireAbortedError`. */
  dispose(): void | Promise<void>
}

/** A limiter that answers synchronously: the embedded memory backend. */
export interface SyncLimiter extends Limiter {
  tryAcquire(weight?: number): Acquisition
  state(): LimiterState
  reconfigure(limits: LimitSpec | readonly LimitSpec[]): boolean
  dispose(): void
}

/** What to limit, independent of the backend. Times in milliseconds. */
export type LimitSpec =
  | {
      kind: 'token_bucket' /** Most tokens held (burst). */
      bucketSize: number /** Tokens added per second. */
      refillPerSecond: number
    }
  | { kind: 'fixed_window'; windowMs: number; maxRequests: number }
  /** No span of `windowMs` ever admits more than `limit` (the echelons' `rpm_limit`: windowMs 60 000). */
  | { kind: 'sliding_window'; windowMs: number; limit: number }
  | { kind: 'concurrency'; limit: number }
