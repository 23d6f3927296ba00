/**
 * The validator on its own, for what no schema of today can reach through a configuration directory: a secret-named
 * number field whose value came from the environment.
 */
import { describe, expect, test } from 'vitest'
import { ProblemSink } from '../src/problems'
import { validate } from '../src/validate'

const schema = {
  type: 'object',
  properties: { password_min_length: { type: 'integer', minimum: 1 }, retries: { type: 'integer', minimum: 0 } },
}

function run(value: Record<string, unknown>, references: Record<string, string>) {
  const sink = new ProblemSink()
  const result = validate(schema, value, [], {
    file: () => 'f.toml',
    sink,
    unknownKeys: 'error',
    useDefaultsOnFailure: false,
    wholeReference: (path) => references[path.join('.')],
  })
  return { result, sink }
}

describe('typed values from the environment', () => {
  test('a secret-named field never shows the value that did not convert', () => {
    const { result, sink } = run({ password_min_length: 'sk-live-SECRET' }, { password_min_length: 'BUDGET' })
    expect(result).toBeUndefined()
    expect(sink.errors).toEqual([expect.objectContaining({ code: 'invalid_type', path: 'password_min_length' })])
    expect(sink.errors[0]!.message).toBe('expected an integer: ${BUDGET}')
    const outOfRange = run({ password_min_length: '0' }, { password_min_length: 'BUDGET' }).sink.errors[0]!
    expect(outOfRange.message).toBe('must be at least 1 (from ${BUDGET})')
  })

  test('only a value that was one whole reference converts', () => {
    expect(run({ retries: '3' }, { retries: 'RETRIES' }).result).toEqual({ retries: 3 })
    const { sink } = run({ retries: '3' }, {})
    expect(sink.errors).toEqual([
      expect.objectContaining({ code: 'invalid_type', message: 'expected an integer, got a string' }),
    ])
  })
})
