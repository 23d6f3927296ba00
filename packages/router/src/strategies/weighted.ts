import type { InstanceView, RotationContext, RotationStrategy } from './types'

/**
 * In proportion to the pool's weights (`task_group.echelon` → weight, shared evenly among that echelon's
 * instances): a weighted random order, so traffic splits by weight and a saturated pick falls to the next by weight.
 * Instances of weight 0 come last, in their given order.
 */
export function weighted(): RotationStrategy {
  return {
    order(candidates: readonly InstanceView[], context: RotationContext) {
      const pool = candidates.map((instance) => ({ instance, weight: Math.max(0, context.weightOf(instance)) }))
      const result: InstanceView[] = []
      let total = pool.reduce((sum, entry) => sum + entry.weight, 0)
      while (total > 0) {
        let point = context.random() * total
        const index = pool.findIndex((entry) => entry.weight > 0 && (point -= entry.weight) < 0)
        const [picked] = pool.splice(index === -1 ? pool.findIndex((entry) => entry.weight > 0) : index, 1)
        result.push(picked!.instance)
        total -= picked!.weight
      }
      for (const entry of pool) result.push(entry.instance)
      return result
    },
  }
}
