import { leastConnections } from './least-connections'
import { randomOrder } from './random'
import { roundRobin } from './round-robin'
import type { RotationStrategyFactory } from './types'
import { weighted } from './weighted'

/** The strategies of the design document, by their TOML names. */
export const builtInStrategies: Record<string, RotationStrategyFactory> = {
  round_robin: () => roundRobin(),
  random: () => randomOrder(),
  weighted: () => weighted(),
  least_connections: () => leastConnections(),
}

export { leastConnections, randomOrder, roundRobin, weighted }
export type { InstanceView, RotationContext, RotationStrategy, RotationStrategyFactory } from './types'
