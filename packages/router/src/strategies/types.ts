/** What a rotation strategy sees of an instance. */
export interface InstanceView {
  /** `task_group.echelon/provider:model` */
  readonly key: string
  readonly group: string
  readonly echelon: string
  readonly model: string
  readonly priority: number
  /** Calls in flight through this router right now. */
  readonly inFlight: number
}

/** What a strategy may use besides the candidates. */
export interface RotationContext {
  /** The pool's weight for an instance (`weighted`): its echelon's weight shared evenly among the echelon's instances. */
  weightOf(instance: InstanceView): number
  /** A number in [0, 1); injectable for reproducible tests. */
  random(): number
}

/**
 * A pool's rotation strategy. It orders the candidates of one tier — all admitted by breaker and health and not yet
 * tried by this request — in the order to try them; the router takes the first that has capacity and skips the
 * saturated ones. One strategy object per pool, so it may keep state (a round-robin cursor).
 */
export interface RotationStrategy {
  order(candidates: readonly InstanceView[], context: RotationContext): readonly InstanceView[]
}

/** Makes a strategy for a pool; registered by name (`round_robin`, ... or your own). */
export type RotationStrategyFactory = (pool: string) => RotationStrategy
