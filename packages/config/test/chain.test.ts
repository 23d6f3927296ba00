/** The chain of a task group as docs/routing.md defines it, and the shortcut the no_effect check takes. */
import type { TaskGroup } from '@llmpool/schema'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { chainHasOneStep, chainOf } from '../src/chain'

function group(
  name: string,
  echelons: Record<string, number | undefined>,
  strategy: 'echelon_down' | 'group_fallback',
  fallbackGroups: string[],
): TaskGroup {
  return {
    name,
    fallback_strategy: strategy,
    circuit_breaker: { failure_threshold: 5, recovery_time: 60, half_open_requests: 1 },
    cooldown: { default_time: 5, max_time: 300 },
    fallback: { strategy, fallback_groups: fallbackGroups, max_attempts: 3, retry_delay: 1 },
    echelons: Object.fromEntries(
      Object.entries(echelons).map(([echelon, priority]) => [
        echelon,
        { models: ['openai:gpt-4o'], ...(priority === undefined ? {} : { priority }) },
      ]),
    ),
    metrics: { enabled: true, collection_interval: 60 },
    metadata: {},
  }
}

describe('chainOf', () => {
  test('echelon_down: the best echelon, then fallback_groups, or the other echelons', () => {
    const groups = {
      a: group('a', { e1: 2, e2: 1, e3: 3 }, 'echelon_down', []),
      b: group('b', { e1: 1, e2: 2 }, 'echelon_down', ['a.e3', 'b', 'a.e3']),
      c: group('c', { e1: 1, e2: 2 }, 'group_fallback', ['a.e1', 'missing', 'a.nope']),
    }
    expect(chainOf('a', groups)).toEqual(['a.e2', 'a.e1', 'a.e3'])
    expect(chainOf('b', groups)).toEqual(['b.e1', 'a.e3', 'b.e2'])
    expect(chainOf('c', groups)).toEqual(['c.e1', 'c.e2', 'a.e1'])
  })

  test('chainHasOneStep agrees with chainOf', () => {
    const names = ['a', 'b']
    const echelonSet = fc.dictionary(
      fc.constantFrom('e1', 'e2', 'e3'),
      fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      { minKeys: 1 },
    )
    const reference = fc.oneof(
      fc.constantFrom(...names, 'missing'),
      fc.tuple(fc.constantFrom(...names, 'missing'), fc.constantFrom('e1', 'e2', 'e3')).map(([g, e]) => `${g}.${e}`),
    )
    const arbitraryGroup = fc.tuple(
      echelonSet,
      fc.constantFrom<'echelon_down' | 'group_fallback'>('echelon_down', 'group_fallback'),
      fc.array(reference, { maxLength: 3 }),
    )
    fc.assert(
      fc.property(
        arbitraryGroup,
        arbitraryGroup,
        ([echelonsA, strategyA, fallbacksA], [echelonsB, strategyB, fallbacksB]) => {
          const groups = {
            a: group('a', echelonsA, strategyA, fallbacksA),
            b: group('b', echelonsB, strategyB, fallbacksB),
          }
          for (const name of names) expect(chainHasOneStep(name, groups), name).toBe(chainOf(name, groups).length === 1)
        },
      ),
      { numRuns: 500 },
    )
  })
})
