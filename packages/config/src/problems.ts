import { LLMPoolError } from '@llmpool/schema'
import type { KeyPath } from './key-path'

/** Why a configuration was rejected (or warned about). */
export type ConfigProblemCode =
  /** The TOML text does not parse. */
  | 'toml_syntax'
  /** The configuration directory itself does not exist, or is not a directory. */
  | 'directory_not_found'
  /** A file named by the registry (or the registry itself) does not exist. */
  | 'file_not_found'
  /** A file exists but cannot be read. */
  | 'file_unreadable'
  /** A registry `file` path leaves the configuration directory. */
  | 'path_outside_config_dir'
  /** A required key is missing. */
  | 'missing_key'
  /** A value has the wrong type (a string where a number belongs, ...). */
  | 'invalid_type'
  /** A value has the right type but is out of range, not one of the allowed values, or malformed. */
  | 'invalid_value'
  /** A key the schema does not know (an error under `strict`, a warning under `lenient`). */
  | 'unknown_key'
  /** Two keys say different things (`fallback_strategy` and `fallback.strategy`). */
  | 'conflicting_keys'
  /** A name is used twice, or does not match its registry key. */
  | 'duplicate_name'
  | 'name_mismatch'
  /** A reference names nothing registered. */
  | 'unknown_reference'
  /** A reference names a registered entry that is disabled. */
  | 'disabled_reference'
  /** `[dependencies]` or `inherits_from` loop back on themselves. */
  | 'dependency_cycle'
  | 'inheritance_cycle'
  /** `inherits_from` names neither a table of the file nor a registered entry. */
  | 'unknown_base'
  /**
   * The registry declares no enabled pool and no enabled task group: there is nothing to route to (an empty or
   * truncated `_registry.toml`, or every entry disabled).
   */
  | 'nothing_enabled'
  /** `${VAR}` names an unset variable and gives no default. */
  | 'env_missing'
  /** Warning: an invalid value was replaced by its default (`use_defaults_on_failure`). */
  | 'default_used'
  /**
   * Warning: a setting that does nothing where it is written, because another setting makes it do nothing (`weights`
   * under a rotation other than `weighted`, the rate-limiting table of the algorithm not chosen, ...).
   */
  | 'no_effect'

/** One problem with a configuration: data a program can act on, and a message for a person. */
export interface ConfigProblem {
  /** Stable, machine-readable reason. */
  code: ConfigProblemCode
  /** The file, relative to the configuration directory (`pools/fast-pool.toml`); empty for the directory itself. */
  file: string
  /** Dotted key path inside the file (`pool.health_check.interval`); empty for the whole file. */
  path: string
  /** What is wrong and, where possible, how to fix it. Never contains a secret. */
  message: string
  /** 1-based line of the key, where it is known. */
  line?: number
  /** 1-based column of the key, where it is known. */
  column?: number
}

const marker = 'llmpool.error.ConfigError'
const symbol = Symbol.for(marker)

function summarize(problems: readonly ConfigProblem[]): string {
  const first = problems[0]
  if (!first) return 'Invalid configuration'
  const where = first.file === '' ? '' : `${first.file}${first.line ? `:${first.line}:${first.column ?? 1}` : ''} `
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
  return `Invalid configuration: ${where}${first.path ? `${first.path}: ` : ''}${first.message}${more}`
}

/** Thrown when a configuration cannot be loaded; `problems` lists every problem found, not only the first. */
export class ConfigError extends LLMPoolError<'config_invalid'> {
  private readonly [symbol] = true
  /** Every error found. */
  readonly problems: readonly ConfigProblem[]
  /** Warnings found along the way (unknown keys under `lenient`, defaults used). */
  readonly warnings: readonly ConfigProblem[]

  constructor(problems: readonly ConfigProblem[], warnings: readonly ConfigProblem[] = []) {
    super({ code: 'config_invalid', message: summarize(problems) })
    this.name = 'ConfigError'
    this.problems = problems
    this.warnings = warnings
  }

  static override isInstance(error: unknown): error is ConfigError {
    return LLMPoolError.hasMarker(error, marker)
  }

  toJSON() {
    return { name: this.name, code: this.code, message: this.message, problems: this.problems, warnings: this.warnings }
  }
}

/** Reports a problem at a key path of a resolved section, against the file and line that wrote the key. */
export type SectionReport = (path: KeyPath, code: ConfigProblemCode, message: string, warning?: boolean) => void

/**
 * Collects problems while a configuration loads; the pipeline never stops at the first. The same problem found twice
 * (a registered base is checked on its own and again as the base of each child) is kept once.
 */
export class ProblemSink {
  readonly errors: ConfigProblem[] = []
  readonly warnings: ConfigProblem[] = []
  private readonly seen = new Set<string>()

  error(problem: ConfigProblem): void {
    if (this.isNew('error', problem)) this.errors.push(problem)
  }

  warn(problem: ConfigProblem): void {
    if (this.isNew('warning', problem)) this.warnings.push(problem)
  }

  private isNew(level: string, { code, file, path, message, line, column }: ConfigProblem): boolean {
    const key = JSON.stringify([level, code, file, path, message, line, column])
    if (this.seen.has(key)) return false
    this.seen.add(key)
    return true
  }

  get ok(): boolean {
    return this.errors.length === 0
  }
}
