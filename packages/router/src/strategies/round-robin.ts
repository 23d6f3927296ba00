import type { InstanceView, RotationStrategy } from './types'

/** Rotates a list so that successive calls start one further along. */
export function rotate<T>(items: readonly T[], cursor: number): T[] {
  if (items.length <= 1) return [...items]
  const start = cursor % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

/** In turn: each request starts at the next candidate. */
export function roundRobin(): RotationStrategy {
  let cursor = 0
  return {
    order(candidates: readonly InstanceView[]) {
      return rotate(candidates, cursor++)
    },
  }
}
