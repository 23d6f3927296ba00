import type { CandidatePlan } from '../plan/types'
import type { InstanceView } from '../strategies/types'
import type { InstanceRuntime } from './instance'

/**
 * An instance as one entry reaches it: the runtime (shared by every entry) and the per-attempt values of this entry.
 * It is what rotation strategies order, so it reads as an `InstanceView`.
 */
export class Candidate implements InstanceView {
  constructor(
    readonly instance: InstanceRuntime,
    readonly plan: CandidatePlan,
  ) {}

  get key(): string {
    return this.instance.plan.key
  }

  get group(): string {
    return this.instance.plan.group
  }

  get echelon(): string {
    return this.instance.plan.echelon
  }

  get model(): string {
    return this.instance.plan.model
  }

  get priority(): number {
    return this.instance.plan.priority
  }

  get inFlight(): number {
    return this.instance.inFlight
  }
}
