import { LLMPoolError } from '@llmpool/schema'

/** One thing wrong with a fault specification or a faults file. */
export interface FaultsIssue {
  /** Dotted path of the offending value (`faults.gpt-4o[1].status`); empty for the whole file. */
  path: string
  /** What is wrong, for a person. */
  message: string
}

const marker = 'llmpool.error.InvalidFaultsError'
const symbol = Symbol.for(marker)

/** Thrown by `setFaults()`, `createMockUpstream()` and `loadFaultsFile()` when a fault specification is invalid. */
export class InvalidFaultsError extends LLMPoolError<'faults_invalid'> {
  private readonly [symbol] = true
  /** Every problem found, not only the first. */
  readonly issues: readonly FaultsIssue[]
  /** The faults file, when the specification came from one. */
  readonly file: string | undefined

  constructor(issues: readonly FaultsIssue[], file?: string) {
    const where = file === undefined ? '' : `${file}: `
    const first = issues[0]
    const summary = first === undefined ? 'invalid faults' : `${first.path ? `${first.path}: ` : ''}${first.message}`
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    super({ code: 'faults_invalid', message: `${where}${summary}${more}` })
    this.name = 'InvalidFaultsError'
    this.issues = issues
    this.file = file
  }

  static override isInstance(error: unknown): error is InvalidFaultsError {
    return LLMPoolError.hasMarker(error, marker)
  }

  toJSON() {
    return { name: this.name, code: this.code, message: this.message, file: this.file, issues: this.issues }
  }
}
