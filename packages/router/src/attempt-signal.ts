import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { type Clock, unref } from '@llmpool/schema'
import { timeoutError } from './signals'

const noop = () => undefined

/** The key under which a call made by the router carries its attempt (see `onAbort`). */
export const ATTEMPT = Symbol.for('llmpool.attempt')

const ONCE = { once: true } as const

/**
 * The attempts that listen to one caller's signal, through a single listener on it. A gateway hands the router one
 * signal per client connection, and each attempt adding and removing a listener of its own cost about 7 µs (Node's
 * EventTarget), more than a route takes; so the first attempt to see a signal adds the listener, and attempts join
 * and leave a set. The listener stays on the signal until it aborts or is collected (it holds only the set, which
 * holds the attempts in flight), and a signal shared by many concurrent calls gets one listener instead of one each.
 */
class CallerWatch {
  readonly attempts = new Set<AttemptSignal>()

  /** The caller aborted: every attempt in flight hears it. */
  handleEvent(event: Event): void {
    const reason = (event.target as AbortSignal).reason
    const attempts = [...this.attempts]
    this.attempts.clear()
    for (const attempt of attempts) attempt.abort(reason)
  }
}

const watches = new WeakMap<AbortSignal, CallerWatch>()

function watchOf(signal: AbortSignal): CallerWatch {
  let watch = watches.get(signal)
  if (!watch) {
    watch = new CallerWatch()
    watches.set(signal, watch)
    signal.addEventListener('abort', watch, ONCE)
  }
  return watch
}

/**
 * The abort signal of one attempt. It aborts on the attempt's timeout (bounded by the request's deadline), on the
 * caller's abort, and on a breaker trial's timeout.
 *
 * Creating an AbortSignal costs about 6 µs in Node 20 — more than the rest of routing — so the controller is made
 * only when someone reads `signal` (every AI SDK provider does; an in-memory model or a provider using `onAbort`
 * need not). An abort requested before that is remembered and applied when the signal is made. One is made per
 * attempt, so it allocates little: it listens to the caller and the trial as an event listener object (no closures),
 * and builds its timeout message only when the timeout fires.
 */
export class AttemptSignal {
  private controller: AbortController | undefined
  private pendingReason: unknown
  private aborted = false
  private timer: unknown
  /** The attempt's own timer fired (not the caller, not the deadline). */
  timedOut = false
  private listeners: ((reason: unknown) => void)[] | undefined
  private rejectRace: ((reason: unknown) => void) | undefined
  /**
   * What the timer's callback reaches this signal through, emptied once the timer no longer matters. Under load V8
   * allocates Node's Timeout objects in the old generation, where a cleared one stays until a full collection: a
   * callback holding the signal directly kept the whole request (its call, listeners, the upstream exchange) alive
   * through every young collection until then, and young collections copied and promoted it (docs/decisions/0009).
   */
  private readonly timerTarget: { signal: AttemptSignal | undefined } = { signal: this }

  constructor(
    private readonly clock: Clock,
    private readonly limitMs: number,
    /** What timed out, for the message: the instance key. */
    private readonly instance: string,
    private readonly caller: AbortSignal | undefined,
    private readonly trial: AbortSignal | undefined,
  ) {
    const target = this.timerTarget
    this.timer = clock.setTimeout(() => target.signal?.onTimeout(), Math.max(0, limitMs))
    unref(this.timer)
    if (caller) {
      if (caller.aborted) this.abort(caller.reason)
      else watchOf(caller).attempts.add(this)
    }
    trial?.addEventListener('abort', this, ONCE)
  }

  private onTimeout(): void {
    this.timedOut = true
    this.abort(timeoutError(`attempt on ${this.instance} timed out after ${Math.round(this.limitMs)} ms`))
  }

  /** The trial's abort (EventTarget calls listener objects through `handleEvent`). */
  handleEvent(event: Event): void {
    this.abort((event.target as AbortSignal).reason)
  }

  /** The signal to hand to the model; made on first read. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.pendingReason)
    }
    return this.controller.signal
  }

  /** Why it aborted, if it did. */
  get reason(): unknown {
    return this.controller ? this.controller.signal.reason : this.pendingReason
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.pendingReason = reason
    this.controller?.abort(reason)
    if (this.listeners) {
      for (const listener of this.listeners.splice(0)) {
        try {
          listener(reason)
        } catch {
          // A listener's failure is its own; the others still hear the abort.
        }
      }
    }
    this.rejectRace?.(reason)
  }

  /** Calls `listener` once on abort (at once if aborted already), without making an AbortSignal. */
  subscribe(listener: (reason: unknown) => void): () => void {
    if (this.aborted) {
      listener(this.pendingReason)
      return noop
    }
    ;(this.listeners ??= []).push(listener)
    return () => {
      const at = this.listeners?.indexOf(listener) ?? -1
      if (at >= 0) this.listeners!.splice(at, 1)
    }
  }

  /**
   * `work`, or a rejection with the abort reason as soon as the attempt aborts — so that a model that ignores its
   * `abortSignal` cannot hold a request past its timeout or deadline.
   */
  race<T>(work: PromiseLike<T>): Promise<T> {
    if (this.aborted) {
      // The work was started already: its own rejection (the abort it sees) must not go unhandled.
      Promise.resolve(work).catch(() => undefined)
      return Promise.reject(this.pendingReason)
    }
    return new Promise<T>((resolve, reject) => {
      this.rejectRace = reject
      work.then(resolve, reject)
    })
  }

  /**
   * A stream's first content arrived: the attempt's timeout is over. The stream is the caller's from now on, bounded
   * by its idle timeout and the caller's own signal (docs/routing.md: deadlines).
   */
  disarm(): void {
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.timerTarget.signal = undefined
  }

  dispose(): void {
    this.clock.clearTimeout(this.timer)
    this.timerTarget.signal = undefined
    // Nothing is left to hear: what they hold (the attempt's promise, a provider's exchange) is let go.
    this.listeners = undefined
    this.rejectRace = undefined
    if (this.caller) watches.get(this.caller)?.attempts.delete(this)
    this.trial?.removeEventListener('abort', this)
  }
}

/**
 * Calls `listener` once when `call` is aborted — by the attempt's timeout, the request's deadline or the caller — and
 * returns a function that stops listening; `call` is a language-model or an embedding call. For providers that do
 * their own I/O (a raw HTTP client, a socket): for a call the router made it creates no AbortSignal (one costs about
 * 6 µs in Node 20, more than the rest of routing); for any other call it listens on `call.abortSignal`.
 */
export function onAbort(
  call: Pick<LanguageModelV3CallOptions, 'abortSignal'>,
  listener: (reason: unknown) => void,
): () => void {
  const attempt = (call as { [ATTEMPT]?: AttemptSignal })[ATTEMPT]
  if (attempt) return attempt.subscribe(listener)
  const signal = call.abortSignal
  if (!signal) return noop
  if (signal.aborted) {
    listener(signal.reason)
    return noop
  }
  const onAbortEvent = () => listener(signal.reason)
  signal.addEventListener('abort', onAbortEvent, { once: true })
  return () => signal.removeEventListener('abort', onAbortEvent)
}
