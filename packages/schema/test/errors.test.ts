import { describe, expect, test } from 'vitest'
import {
  DisposedError,
  importOptional,
  LLMPoolError,
  MissingPackageError,
  RedisProblemError,
  unref,
} from '../src/index'

describe('MissingPackageError and importOptional: one way to say "install X"', () => {
  test('importOptional returns the module when the import works', async () => {
    await expect(importOptional('node:path', 'a test', () => import('node:path'))).resolves.toHaveProperty('join')
  })

  test('a failed import becomes MissingPackageError: code, package, feature, the import error as cause', async () => {
    const failure = new Error("Cannot find package 'ioredis'")
    const error = await importOptional(
      'ioredis',
      'a Redis URL',
      () => Promise.reject(failure),
      'or pass your own client',
    ).catch((caught: unknown) => caught)
    expect(MissingPackageError.isInstance(error)).toBe(true)
    expect(LLMPoolError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({
      name: 'MissingPackageError',
      code: 'missing_optional_package',
      packageName: 'ioredis',
      feature: 'a Redis URL',
      cause: failure,
    })
    expect((error as Error).message).toBe(
      'a Redis URL needs the optional package ioredis: npm install ioredis (or pass your own client)',
    )
  })

  test('the guards of the shared errors do not answer for each other', () => {
    const errors = [
      new MissingPackageError({ feature: 'x', packageName: 'y' }),
      new DisposedError('the router'),
      new RedisProblemError('redis_not_connected', 'down'),
    ]
    const guards = [MissingPackageError, DisposedError, RedisProblemError]
    errors.forEach((error, index) => {
      guards.forEach((guard, other) => expect(guard.isInstance(error)).toBe(index === other))
    })
    expect(new DisposedError('the router').message).toBe('the router is disposed')
  })
})

describe('unref', () => {
  test("unrefs a Node timer, and ignores handles without unref (a fake clock's numbers)", () => {
    const timer = setTimeout(() => undefined, 60_000)
    unref(timer)
    expect(timer.hasRef()).toBe(false)
    clearTimeout(timer)
    expect(() => unref(42)).not.toThrow()
    expect(() => unref(undefined)).not.toThrow()
  })
})
