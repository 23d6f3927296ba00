import { type Fault, type Faults, type FaultSequence, checkFaults } from './faults'
import { type FaultsIssue, InvalidFaultsError } from './invalid-faults-error'
import { deriveSeed, type Random, seededRandom } from './seeded-random'

/** The fault chosen for one request, with its delay drawn. */
export interface FaultDecision {
  /** The fault to apply. */
  fault: Fault
  /** `latencyMs` plus the drawn jitter. */
  delayMs: number
}

interface CompiledRule {
  readonly fault: Fault | undefined
  readonly sequence: FaultSequence['sequence'] | undefined
  position: number
  readonly rate: number
  remaining: number
  readonly random: Random
}

/** Rules per model (and `'*'`), evaluated in order for each request: the first that applies decides. */
export class FaultSchedule {
  private readonly rules = new Map<string, CompiledRule[]>()

  constructor(private readonly seed: number) {}

  /** Replaces the rules of `model` (`'*'`: every model, after its own rules). Throws `InvalidFaultsError`. */
  set(model: string, faults: Faults): void {
    const issues: FaultsIssue[] = []
    const specs = checkFaults(faults, model, issues)
    if (issues.length > 0) throw new InvalidFaultsError(issues)
    if (specs.length === 0) {
      this.rules.delete(model)
      return
    }
    const compiled = specs.map((spec, index): CompiledRule => {
      const random = seededRandom(deriveSeed(this.seed, `${model}#${index}`))
      if ('sequence' in spec) {
        const sequence = spec.sequence.map((step) => (step === 'ok' ? 'ok' : orOk(step)) ?? 'ok')
        return { fault: undefined, sequence, position: 0, rate: 1, remaining: Infinity, random }
      }
      const { rate = 1, times = Infinity, ...fault } = spec
      return { fault: orOk(fault), sequence: undefined, position: 0, rate, remaining: times, random }
    })
    this.rules.set(model, compiled)
  }

  /** Removes the rules of `model`, or every rule. */
  clear(model?: string): void {
    if (model === undefined) this.rules.clear()
    else this.rules.delete(model)
  }

  /** The fault for the next request to `model`, or undefined to answer normally. Consumes `times` and sequences. */
  pick(model: string): FaultDecision | undefined {
    if (this.rules.size === 0) return undefined
    const own = model === '*' ? undefined : this.pickFrom(this.rules.get(model))
    const decided = own ?? this.pickFrom(this.rules.get('*'))
    if (decided === undefined || decided.fault === undefined) return undefined
    const { fault, random } = decided
    const jitter = fault.jitterMs ? random() * fault.jitterMs : 0
    return { fault, delayMs: (fault.latencyMs ?? 0) + jitter }
  }

  /** undefined: no rule applied; `{ fault: undefined }`: a sequence said "ok". */
  private pickFrom(rules: CompiledRule[] | undefined): { fault: Fault | undefined; random: Random } | undefined {
    if (rules === undefined) return undefined
    for (const rule of rules) {
      if (rule.sequence !== undefined) {
        if (rule.position >= rule.sequence.length) continue
        const step = rule.sequence[rule.position++]
        return { fault: step === 'ok' || step === undefined ? undefined : step, random: rule.random }
      }
      if (rule.remaining <= 0) continue
      if (rule.rate < 1 && rule.random() >= rule.rate) continue
      rule.remaining--
      return { fault: rule.fault, random: rule.random }
    }
    return undefined
  }
}

/** A fault without any key (`{}`) answers normally. */
function orOk(fault: Fault): Fault | undefined {
  return Object.keys(fault).length === 0 ? undefined : fault
}
