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

/**
 * Rules per API key, per model and for `'*'`. For each request the key's rules are tried in order, then the model's,
 * then the `'*'` rules: the first that applies decides.
 */
export class FaultSchedule {
  private readonly models = new Map<string, CompiledRule[]>()
  private readonly keys = new Map<string, CompiledRule[]>()

  constructor(private readonly seed: number) {}

  /** Replaces the rules of `model` (`'*'`: every model, after its own rules). Throws `InvalidFaultsError`. */
  set(model: string, faults: Faults): void {
    this.store(this.models, model, faults, model)
  }

  /** Replaces the rules of requests carrying `apiKey`, tried before the model's. Throws `InvalidFaultsError`. */
  setKey(apiKey: string, faults: Faults): void {
    if (typeof apiKey !== 'string' || apiKey === '' || apiKey.trim() !== apiKey) {
      throw new InvalidFaultsError([
        { path: '', message: 'an API key must be a non-empty string without surrounding spaces' },
      ])
    }
    // A namespace of its own, so that a key named like a model draws its own random stream.
    this.store(this.keys, apiKey, faults, `\u0000key\u0000${apiKey}`)
  }

  /** Removes the rules of `model`, or every model's rules (key rules stay). */
  clear(model?: string): void {
    if (model === undefined) this.models.clear()
    else this.models.delete(model)
  }

  /** Removes the rules of `apiKey`, or every key's rules (model rules stay). */
  clearKey(apiKey?: string): void {
    if (apiKey === undefined) this.keys.clear()
    else this.keys.delete(apiKey)
  }

  /**
   * The fault for the next request to `model` carrying `apiKey`, or undefined to answer normally. Consumes `times`
   * and sequences of the rule that decides, and draws `rate` only for the rules it tries.
   */
  pick(model: string, apiKey: string | undefined): FaultDecision | undefined {
    if (this.models.size === 0 && this.keys.size === 0) return undefined
    const decided =
      (apiKey === undefined ? undefined : this.pickFrom(this.keys.get(apiKey))) ??
      (model === '*' ? undefined : this.pickFrom(this.models.get(model))) ??
      this.pickFrom(this.models.get('*'))
    if (decided === undefined || decided.fault === undefined) return undefined
    const { fault, random } = decided
    const jitter = fault.jitterMs ? random() * fault.jitterMs : 0
    return { fault, delayMs: (fault.latencyMs ?? 0) + jitter }
  }

  private store(rules: Map<string, CompiledRule[]>, name: string, faults: Faults, seedText: string): void {
    const issues: FaultsIssue[] = []
    const specs = checkFaults(faults, name, issues)
    if (issues.length > 0) throw new InvalidFaultsError(issues)
    if (specs.length === 0) {
      rules.delete(name)
      return
    }
    const compiled = specs.map((spec, index): CompiledRule => {
      const random = seededRandom(deriveSeed(this.seed, `${seedText}#${index}`))
      if ('sequence' in spec) {
        const sequence = spec.sequence.map((step) => (step === 'ok' ? 'ok' : orOk(step)) ?? 'ok')
        return { fault: undefined, sequence, position: 0, rate: 1, remaining: Infinity, random }
      }
      const { rate = 1, times = Infinity, ...fault } = spec
      return { fault: orOk(fault), sequence: undefined, position: 0, rate, remaining: times, random }
    })
    rules.set(name, compiled)
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
