/**
 * Every error a user can catch is an `LLMPoolError` with a code, and each class's `isInstance` answers for that class
 * only: `RouterError.isInstance(configError)` is false, `LLMPoolError.isInstance(anyOfOurs)` is true.
 */
import * as breaker from '@llmpool/breaker'
import { BrokenCircuitError, TrialTimeoutError } from '@llmpool/breaker'
import * as config from '@llmpool/config'
import { ConfigError } from '@llmpool/config'
import * as limiter from '@llmpool/limiter'
import { AcquireAbortedError, AcquireTimeoutError, LimiterUnavailableError } from '@llmpool/limiter'
import * as schema from '@llmpool/schema'
import { DisposedError, LLMPoolError, MissingPackageError, RedisProblemError } from '@llmpool/schema'
import { InvalidFaultsError } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import * as router from '../src/index'
import {
  AllAttemptsFailedError,
  EmbeddingsUnsupportedError,
  InvalidRequestError,
  LocalFailureError,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  RouterError,
  StreamInterruptedError,
  UnknownProviderError,
  UnknownTargetError,
} from '../src/index'
import {
  configFrom,
  disposeRouters,
  fails,
  httpError,
  layout,
  mockProvider,
  prompt,
  rejection,
  routerFor,
} from './helpers'

afterEach(disposeRouters)

/** One instance of every error class the packages below the wrappers export, with the code it must carry. */
const samples: [new (...args: never[]) => LLMPoolError, LLMPoolError, string][] = [
  [
    MissingPackageError,
    new MissingPackageError({ feature: 'a test', packageName: 'left-pad' }),
    'missing_optional_package',
  ],
  [DisposedError, new DisposedError('the thing'), 'disposed'],
  [RedisProblemError, new RedisProblemError('redis_timeout', 'Redis did not answer'), 'redis_timeout'],
  [
    ConfigError,
    new ConfigError([{ code: 'unknown_key', file: 'a.toml', path: 'x', message: 'unknown key "x"' }]),
    'config_invalid',
  ],
  [AcquireAbortedError, new AcquireAbortedError('rpm'), 'acquire_aborted'],
  [AcquireTimeoutError, new AcquireTimeoutError('rpm', 10), 'acquire_timeout'],
  [LimiterUnavailableError, new LimiterUnavailableError('rpm', 100), 'limiter_unavailable'],
  [BrokenCircuitError, new BrokenCircuitError({ code: 'circuit_open', retryAfterMs: 10 }), 'circuit_open'],
  [TrialTimeoutError, new TrialTimeoutError({ timeoutMs: 10 }), 'trial_timeout'],
  [NoInstanceAvailableError, new NoInstanceAvailableError('g', [], undefined), 'no_instance_available'],
  [RateLimitedError, new RateLimitedError('g', [], 10), 'rate_limited'],
  [AllAttemptsFailedError, new AllAttemptsFailedError('g', [], undefined), 'all_attempts_failed'],
  [RequestTimeoutError, new RequestTimeoutError('g', [], 10), 'request_timeout'],
  [RequestRejectedError, new RequestRejectedError('g', [], undefined, 'bad_request', 400), 'request_rejected'],
  [InvalidRequestError, new InvalidRequestError('g', [], new Error('no')), 'invalid_request'],
  [LocalFailureError, new LocalFailureError('g', [], new Error('no')), 'local_failure'],
  [UnknownTargetError, new UnknownTargetError('g', ''), 'unknown_target'],
  [EmbeddingsUnsupportedError, new EmbeddingsUnsupportedError('g', ['g.e/anthropic:x']), 'embeddings_unsupported'],
  [UnknownProviderError, new UnknownProviderError('acme'), 'unknown_provider'],
  [
    StreamInterruptedError,
    new StreamInterruptedError('g.e/mock:a: the stream ended without finishing'),
    'stream_interrupted',
  ],
  [InvalidFaultsError, new InvalidFaultsError([{ path: '', message: 'bad' }]), 'faults_invalid'],
]

type Guarded = { isInstance(value: unknown): boolean; name: string }

describe('the error hierarchy', () => {
  test('each error is an LLMPoolError with its code and name, and only its own class (and its bases) claim it', () => {
    for (const [Class, error, code] of samples) {
      expect(LLMPoolError.isInstance(error), Class.name).toBe(true)
      expect(error.code, Class.name).toBe(code)
      expect(error.name, Class.name).toBe(Class.name)
      for (const [Other, ,] of samples) {
        const related = Other === Class || Object.prototype.isPrototypeOf.call(Other.prototype, error)
        expect((Other as unknown as Guarded).isInstance(error), `${Other.name}.isInstance(${Class.name})`).toBe(related)
      }
    }
  })

  test("RouterError.isInstance answers for the router's request errors only", () => {
    for (const [Class, error] of samples) {
      expect(RouterError.isInstance(error), Class.name).toBe(error instanceof RouterError)
    }
    expect(RouterError.isInstance(samples.find(([Class]) => Class === ConfigError)![1])).toBe(false)
    expect(RouterError.isInstance(new RateLimitedError('g', [], 1))).toBe(true)
  })

  test('a guard reads the Symbol.for marker, so an error from another copy of the package passes', () => {
    const fromAnotherCopy = Object.assign(new Error('x'), {
      [Symbol.for('llmpool.error')]: true,
      [Symbol.for('llmpool.error.RouterError')]: true,
    })
    expect(RouterError.isInstance(fromAnotherCopy)).toBe(true)
    expect(LLMPoolError.isInstance(fromAnotherCopy)).toBe(true)
    expect(ConfigError.isInstance(fromAnotherCopy)).toBe(false)
    for (const value of [undefined, null, 'error', 42, new Error('plain'), { code: 'rate_limited' }]) {
      expect(LLMPoolError.isInstance(value)).toBe(false)
      expect(RouterError.isInstance(value)).toBe(false)
    }
  })

  test('every exported error class declares its own isInstance, so none inherits a guard that says yes too often', () => {
    const modules = { schema, config, limiter, breaker, router }
    const classes = Object.entries(modules).flatMap(([module, exports]) =>
      Object.entries(exports)
        .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
        .map(([name, value]) => ({ name: `${module}.${name}`, value: value as Guarded })),
    )
    expect(classes.length).toBeGreaterThan(15)
    for (const { name, value } of classes) {
      expect(
        Object.prototype.isPrototypeOf.call(LLMPoolError, value) || value === (LLMPoolError as unknown),
        `${name} extends LLMPoolError`,
      ).toBe(true)
      expect(Object.hasOwn(value, 'isInstance'), `${name} has its own isInstance`).toBe(true)
    }
  })
})

describe('errors the router throws outside a request', () => {
  test('a disposed router throws DisposedError', async () => {
    const files = layout({ groups: { g: '[task_group.echelons.e1]\nmodels = ["mock:a"]\n' } })
    const instance = routerFor(await configFrom(files), mockProvider())
    await instance.dispose()
    const error = await rejection(instance.generate('g', prompt))
    expect(DisposedError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'disposed', message: 'the router is disposed' })
  })

  test('a missing provider package is a MissingPackageError naming what to install', async () => {
    const error = await schema
      .importOptional('@ai-sdk/nowhere', 'provider "nowhere"', () => import('@ai-sdk/nowhere' as string))
      .catch((caught: unknown) => caught)
    expect(MissingPackageError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({
      code: 'missing_optional_package',
      packageName: '@ai-sdk/nowhere',
      feature: 'provider "nowhere"',
    })
    expect((error as Error).message).toBe(
      'provider "nowhere" needs the optional package @ai-sdk/nowhere: npm install @ai-sdk/nowhere',
    )
    expect((error as Error).cause).toBeInstanceOf(Error)
  })

  test('an unregistered provider without base_url fails the request as a local failure caused by UnknownProviderError', async () => {
    const files = layout({ groups: { g: '[task_group.echelons.e1]\nmodels = ["acme:a"]\n' } })
    const error = await rejection(routerFor(await configFrom(files), mockProvider()).generate('g', prompt))
    const causes: unknown[] = []
    for (let node: unknown = error; node instanceof Error; node = node.cause) causes.push(node)
    expect(causes.some((cause) => UnknownProviderError.isInstance(cause))).toBe(true)
  })
})

describe('statusOf: the router and the breaker read the same status', () => {
  test('a status inside the cause chain is recorded on the attempt', async () => {
    const files = layout({ groups: { g: '[task_group.echelons.e1]\nmodels = ["mock:a"]\n' } })
    const wrapped = new Error('the provider failed', { cause: httpError(400, 'bad request') })
    const error = await rejection(
      routerFor(await configFrom(files), mockProvider({ a: fails(wrapped) })).generate('g', prompt),
    )
    expect(RequestRejectedError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ kind: 'bad_request', statusCode: 400 })
    expect(error.attempts[0].error).toMatchObject({ kind: 'bad_request', statusCode: 400 })
  })

  test('a status written as a string, as some SDKs do, is recorded as a number', async () => {
    const files = layout({ groups: { g: '[task_group.echelons.e1]\nmodels = ["mock:a"]\n' } })
    const stringly = Object.assign(new Error('Bad Request'), { status: '400' })
    const error = await rejection(
      routerFor(await configFrom(files), mockProvider({ a: fails(stringly) })).generate('g', prompt),
    )
    expect(error).toMatchObject({ kind: 'bad_request', statusCode: 400 })
  })
})
