import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import type { FailureKind } from '@llmpool/breaker'
import type { Clock } from '@llmpool/schema'
import type { AttemptSignal } from '../attempt-signal'
import type { CapacityWaiters } from '../capacity-waiters'
import type { AttemptRecord } from '../errors'
import type { RouterEvent } from '../events'
import type { RetryPlan } from '../plan/types'
import type { InstanceRuntime } from '../runtime/instance'
import type { EntryRuntime } from '../runtime/topology'
import type { CooldownDecision } from './failure'

/** What the executor needs from the router. */
export interface ExecutionContext {
  clock: Clock
  random(): number
  emit(event: RouterEvent): void
  waiters: CapacityWaiters
  /** A lease came back: waiting requests may proceed. */
  released(instance: InstanceRuntime): void
  /** An instance starts a cooldown here: share it with other processes (when cooldowns are shared). */
  rested(instance: InstanceRuntime, cooldown: CooldownDecision): void
}

/** One request, as it goes through the executor. */
export interface RequestState {
  id: number
  entry: EntryRuntime
  /** The pool or task group routed to. */
  target: string
  call: LanguageModelV3CallOptions
  stream: boolean
  /** `embeddings` for an embedding call (`router.embed`; `call` is then unused); undefined for a language-model call. */
  operation?: 'embeddings'
  /** The caller's signal, if any. The deadline is enforced by the attempts' own timers and by bounded waits. */
  signal: AbortSignal | undefined
  /** Clock time by which the request must be answered. */
  deadline: number
  timeoutMs: number
  attempts: AttemptRecord[]
  /** Upstream calls this request may still make (the entry's `maxCalls`, counted down). */
  callsLeft: number
  /** Place in line while waiting for capacity. */
  ticket: number | undefined
  retry: RetryPlan
  retryOn: ReadonlySet<FailureKind>
}

/** What one attempt produced. `done` (streams) settles when the call is over: the lease is held until then. */
export interface AttemptResult<T> {
  value: T
  /** Streams: settles with the error that ended the call, or undefined; the lease is held until then. */
  done?: Promise<unknown>
  /** Streams: time to the first content part. */
  timeToFirstTokenMs?: number
}

/** What a running attempt may do besides calling the model. */
export interface AttemptControls {
  /** When the attempt started (clock ms). */
  readonly started: number
  /** The attempt's abort signal (the same the model gets as `abortSignal`). */
  readonly signal: AttemptSignal
  /** Streams: the first content arrived; the attempt's timeout no longer applies. */
  disarmTimeout(): void
  /**
   * The language-model call for this instance: the request's call with the echelon's temperature and max_tokens
   * unless the caller set them, and the attempt's abort signal. (An embedding attempt makes its own call.)
   */
  languageCall(): LanguageModelV3CallOptions
}

/**
 * What one attempt does on its instance: gets the model it needs (`instance.readyModel ?? await
 * instance.getModel()` for a language model) and calls it. The attempt around it holds the lease and the breaker
 * permit, bounds it by its timeout and settles the instance's state by what happened.
 */
export type RunAttempt<T> = (instance: InstanceRuntime, controls: AttemptControls) => Promise<AttemptResult<T>>

/** The memory backend answers synchronously: only a promise is awaited, so the hot path takes no extra microtask. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function'
}
