/** Options are checked at construction: every bad value is a RangeError naming the option and the value. */
import { type BreakerOptions, breakerOptionsFromConfig, CircuitBreaker } from '@llmpool/breaker'
import { describe, expect, test } from 'vitest'

const valid: BreakerOptions = { failureThreshold: 5, recoveryTimeMs: 60_000 }

describe('RangeError for each bad option', () => {
  const cases: Array<[string, Partial<Record<keyof BreakerOptions, unknown>>, string]> = [
    ['failureThreshold 0', { failureThreshold: 0 }, 'failureThreshold must be an integer ≥ 1; got 0'],
    ['failureThreshold 1.5', { failureThreshold: 1.5 }, 'failureThreshold must be an integer ≥ 1; got 1.5'],
    [
      'failureThreshold missing',
      { failureThreshold: undefined },
      'failureThreshold must be an integer ≥ 1; got undefined',
    ],
    ['failureThreshold a string', { failureThreshold: '5' }, 'failureThreshold must be an integer ≥ 1; got "5"'],
    ['recoveryTimeMs 0', { recoveryTimeMs: 0 }, 'recoveryTimeMs must be a finite number > 0; got 0'],
    ['recoveryTimeMs NaN', { recoveryTimeMs: Number.NaN }, 'recoveryTimeMs must be a finite number > 0; got NaN'],
    [
      'recoveryTimeMs Infinity',
      { recoveryTimeMs: Number.POSITIVE_INFINITY },
      'recoveryTimeMs must be a finite number > 0; got Infinity',
    ],
    ['halfOpenRequests 0', { halfOpenRequests: 0 }, 'halfOpenRequests must be an integer ≥ 1; got 0'],
    ['halfOpenRequests 2.5', { halfOpenRequests: 2.5 }, 'halfOpenRequests must be an integer ≥ 1; got 2.5'],
    ['trialTimeoutMs 0', { trialTimeoutMs: 0 }, 'trialTimeoutMs must be a number > 0'],
    ['trialTimeoutMs -1', { trialTimeoutMs: -1 }, 'got -1'],
    [
      'trialTimeoutMs too long for a timer',
      { trialTimeoutMs: 2 ** 31 },
      'trialTimeoutMs must be a number > 0 and ≤ 2147483647',
    ],
    [
      'recoveryBackoff not an object',
      { recoveryBackoff: 2 },
      'recoveryBackoff must be an object { factor, maxMs }; got 2',
    ],
    [
      'recoveryBackoff.factor < 1',
      { recoveryBackoff: { factor: 0.5, maxMs: 120_000 } },
      'recoveryBackoff.factor must be a finite number ≥ 1; got 0.5',
    ],
    [
      'recoveryBackoff.maxMs < recoveryTimeMs',
      { recoveryBackoff: { factor: 2, maxMs: 1000 } },
      'recoveryBackoff.maxMs must be a finite number ≥ recoveryTimeMs (60000); got 1000',
    ],
    ['isFailure not a function', { isFailure: true }, 'isFailure must be a function; got true'],
    [
      'clock without setTimeout',
      { clock: { now: () => 0 } },
      'clock must be an object with now(), setTimeout() and clearTimeout(); got an object',
    ],
    ['name empty', { name: '' }, 'name must be a non-empty string; got ""'],
    [
      'initialState bad',
      { initialState: { state: 'open', failures: 0, openedAt: null, recoveryTimeMs: 1, reopenCount: 0 } },
      'initialState.openedAt must be a finite number when state is open; got null',
    ],
  ]
  for (const [label, change, message] of cases) {
    test(label, () => {
      const build = () => new CircuitBreaker({ ...valid, ...change } as BreakerOptions)
      expect(build).toThrow(RangeError)
      expect(build).toThrow(message)
    })
  }

  test('the message names the breaker when it has a name', () => {
    expect(() => new CircuitBreaker({ ...valid, name: 'openai-main', failureThreshold: 0 })).toThrow(
      'circuit breaker "openai-main": failureThreshold must be an integer ≥ 1; got 0',
    )
  })

  test('options that are not an object', () => {
    expect(() => new CircuitBreaker(undefined as unknown as BreakerOptions)).toThrow(RangeError)
  })

  test('valid options, with and without every optional one', () => {
    expect(new CircuitBreaker(valid).state).toBe('closed')
    const full = new CircuitBreaker({
      ...valid,
      halfOpenRequests: 3,
      trialTimeoutMs: 30_000,
      recoveryBackoff: { factor: 1, maxMs: 60_000 },
      isFailure: () => true,
      name: 'x',
    })
    expect(full.name).toBe('x')
  })
})

describe('breakerOptionsFromConfig', () => {
  test('maps the TOML keys, seconds to milliseconds', () => {
    expect(breakerOptionsFromConfig({ failure_threshold: 5, recovery_time: 60, half_open_requests: 2 })).toEqual({
      failureThreshold: 5,
      recoveryTimeMs: 60_000,
      halfOpenRequests: 2,
    })
    expect(
      breakerOptionsFromConfig({ failure_threshold: 1, recovery_time: 0.25, half_open_requests: 1 }).recoveryTimeMs,
    ).toBe(250)
  })

  test('its result builds a breaker', () => {
    const breaker = new CircuitBreaker(
      breakerOptionsFromConfig({ failure_threshold: 3, recovery_time: 1.5, half_open_requests: 1 }),
    )
    expect(breaker.toJSON()).toMatchObject({ state: 'closed', recoveryTimeMs: 1500 })
  })
})
