import type { InstanceView, RotationContext, RotationStrategy } from './types'

/** Uniformly at random (a random permutation, so the fallbacks are random too). */
export function randomOrder(): RotationStrategy {
  return {
    order(candidates: readonly InstanceView[], context: RotationContext) {
      const result = [...candidates]
      for (let i = result.length - 1; i > 0; i--) {
        const j = Math.floor(context.random() * (i + 1))
        ;[result[i], result[j]] = [result[j]!, result[i]!]
      }
      return result
    },
  }
}
