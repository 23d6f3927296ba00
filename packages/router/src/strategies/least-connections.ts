import { rotate } from './round-robin'
import type { InstanceView, RotationStrategy } from './types'

/** Fewest calls in flight first; ties are broken in turn (round robin among equals). */
export function leastConnections(): RotationStrategy {
  let cursor = 0
  return {
    order(candidates: readonly InstanceView[]) {
      const turn = cursor++
      // Rotate first, then a stable sort: equal counts keep the rotated (turn-taking) order.
      return rotate(candidates, turn).sort((a, b) => a.inFlight - b.inFlight)
    },
  }
}
