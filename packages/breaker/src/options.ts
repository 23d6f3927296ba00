import { type CircuitBreakerTable as CircuitBreakerConfiguration, type Clock, systemClock } from '@llmpool/schema'
import { describe, fail, isFiniteNumber, isInteger } from './check'
import { checkSnapshot } from './snapshot'
import { defaultIsFailure } from './is-failure'
import type { BreakerSnapshot } from './types'

/** How the recovery time grows when a breaker opens again straight from half-open. */
export interface RecoveryBackoff {
  /** Each consecutive re-opening multiplies the recovery time by this (≥ 1). */
  factor: number
  /** The recovery time never exceeds this (ms, ≥ `recoveryTimeMs`). */
  maxMs: number
}

/** Options of `new CircuitBreaker(options)`. Checked at construction: a bad value throws a `RangeError`. */
export interface BreakerOptions {
  /** Consecutive counted failures that open the breaker (integer ≥ 1). TOML: `failure_threshold`. */
  failureThreshold: number
  /** Milliseconds the breaker stays open before trial calls (> 0). TOML: `recovery_time`, in seconds. */
  recoveryTimeMs: number
  /** Trial calls admitted at once while half-open, and successes needed to close (integer ≥ 1). Default 1. */
  halfOpenRequests?: number
  /** A trial that has not settled after this many ms counts as failed and is aborted (> 0). Default `recoveryTimeMs`. */
  trialTimeoutMs?: number
  /** Grow the recovery time on each consecutive re-opening; reset when the breaker closes. Default: no growth. */
  recoveryBackoff?: RecoveryBackoff
  /**
   * Which errors count towards opening. Default `defaultIsFailure`. A predicate that throws counts the failure; its
   * error is rethrown in a microtask.
   */
  isFailure?: (error: unknown) => boolean
  /** Where time is read and timers are set. Default `systemClock`. */
  clock?: Clock
  /** A name for messages and for shared state. */
  name?: string
  /** Start from this snapshot (from `toJSON()`) instead of closed; applied silently. */
  initialState?: BreakerSnapshot
}

/** Options after defaults and checks. */
export interface ResolvedBreakerOptions {
  failureThreshold: number
  recoveryTimeMs: number
  halfOpenRequests: number
  trialTimeoutMs: number
  recoveryBackoff: RecoveryBackoff | undefined
  isFailure: (error: unknown) => boolean
  clock: Clock
  name: string | undefined
  initialState: BreakerSnapshot | undefined
}

/** setTimeout's largest delay. */
export const MAX_TIMER_MS = 2_147_483_647

/** Turns the TOML `[task_group.circuit_breaker]` table into options: `recovery_time` seconds become milliseconds. */
export function breakerOptionsFromConfig(
  configuration: Pick<CircuitBreakerConfiguration, 'failure_threshold' | 'recovery_time' | 'half_open_requests'>,
): BreakerOptions {
  return {
    failureThreshold: configuration.failure_threshold,
    recoveryTimeMs: Math.round(configuration.recovery_time * 1000),
    halfOpenRequests: configuration.half_open_requests,
  }
}

/** Fills in defaults and checks every option; throws a `RangeError` naming the option and the value. */
export function resolveOptions(options: BreakerOptions): ResolvedBreakerOptions {
  if (typeof options !== 'object' || options === null)
    throw new RangeError(`options must be an object; got ${describe(options)}`)
  const name = options.name
  if (name !== undefined && (typeof name !== 'string' || name === ''))
    fail(undefined, 'name', name, 'a non-empty string')
  const check = (valid: boolean, option: string, value: unknown, expected: string) => {
    if (!valid) fail(name, option, value, expected)
  }

  const { failureThreshold, recoveryTimeMs, halfOpenRequests = 1 } = options
  check(isInteger(failureThreshold) && failureThreshold >= 1, 'failureThreshold', failureThreshold, 'an integer ≥ 1')
  check(isFiniteNumber(recoveryTimeMs) && recoveryTimeMs > 0, 'recoveryTimeMs', recoveryTimeMs, 'a finite number > 0')
  check(isInteger(halfOpenRequests) && halfOpenRequests >= 1, 'halfOpenRequests', halfOpenRequests, 'an integer ≥ 1')
  const trialTimeoutMs = options.trialTimeoutMs ?? Math.min(recoveryTimeMs, MAX_TIMER_MS)
  check(
    isFiniteNumber(trialTimeoutMs) && trialTimeoutMs > 0 && trialTimeoutMs <= MAX_TIMER_MS,
    'trialTimeoutMs',
    trialTimeoutMs,
    `a number > 0 and ≤ ${MAX_TIMER_MS}`,
  )

  const backoff = options.recoveryBackoff
  if (backoff !== undefined) {
    check(typeof backoff === 'object' && backoff !== null, 'recoveryBackoff', backoff, 'an object { factor, maxMs }')
    check(
      isFiniteNumber(backoff.factor) && backoff.factor >= 1,
      'recoveryBackoff.factor',
      backoff.factor,
      'a finite number ≥ 1',
    )
    check(
      isFiniteNumber(backoff.maxMs) && backoff.maxMs >= recoveryTimeMs,
      'recoveryBackoff.maxMs',
      backoff.maxMs,
      `a finite number ≥ recoveryTimeMs (${recoveryTimeMs})`,
    )
  }

  const isFailure = options.isFailure ?? defaultIsFailure
  check(typeof isFailure === 'function', 'isFailure', isFailure, 'a function')
  const clock = options.clock ?? systemClock
  check(
    typeof clock === 'object' &&
      clock !== null &&
      typeof clock.now === 'function' &&
      typeof clock.setTimeout === 'function' &&
      typeof clock.clearTimeout === 'function',
    'clock',
    clock,
    'an object with now(), setTimeout() and clearTimeout()',
  )

  const initialState =
    options.initialState === undefined ? undefined : checkSnapshot(options.initialState, 'initialState', name)
  return {
    failureThreshold,
    recoveryTimeMs,
    halfOpenRequests,
    trialTimeoutMs,
    recoveryBackoff: backoff === undefined ? undefined : { factor: backoff.factor, maxMs: backoff.maxMs },
    isFailure,
    clock,
    name,
    initialState,
  }
}
