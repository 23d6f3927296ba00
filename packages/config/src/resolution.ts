import path from 'node:path'
import type { RegistryFile } from '@llmpool/schema'
import { buildDocument, type LoadedDocument, readWithOverlay } from './document'
import { formatPath, type KeyPath } from './key-path'
import { type Layer, writtenAt } from './layers'
import { type ConfigProblem, type ConfigProblemCode, ProblemSink, type SectionReport } from './problems'
import type { ResolutionCache, SectionReads } from './resolution-cache'
import type { SourceFiles } from './source-files'
import type { ValidateOptions } from './validate'

export const REGISTRY_FILE = '_registry.toml'

export interface ResolveOptions {
  /** Environment overlay to merge (`production` → `x.production.toml` over `x.toml`). */
  environment: string | undefined
  /** Variables for `${VAR}`. */
  env: NodeJS.ProcessEnv
  /** Overrides the registry's `config_validation`. */
  validation: 'strict' | 'lenient' | undefined
}

/**
 * The state of one run of the loading pipeline over a configuration directory, and what every stage of it uses:
 * reading documents, validation options, reporting problems where they were written.
 */
export class Resolution {
  readonly sink = new ProblemSink()
  /** Documents read by this run, by file. */
  readonly documents = new Map<string, LoadedDocument>()
  /** Problems reading, parsing and injecting the documents. */
  readonly documentProblems: ConfigProblem[] = []
  /** Sections resolved by this run, by `kind:name` (undefined: invalid). */
  readonly resolved = new Map<string, Record<string, unknown> | undefined>()
  /** Registered sections being resolved, as `kind:name`, outermost first (inheritance cycles). */
  readonly resolving: string[] = []
  /** What the sections being resolved read, innermost last (for the section cache). */
  readonly trail: SectionReads[] = []
  registry!: RegistryFile
  strict = true

  constructor(
    readonly files: SourceFiles,
    readonly options: ResolveOptions,
    readonly cache: ResolutionCache,
  ) {}

  /** A registered file, read, overlaid and injected; the same object as last time when nothing it used changed. */
  document(file: string): LoadedDocument {
    let loaded = this.documents.get(file)
    if (!loaded) {
      const { base, overlay } = readWithOverlay(this.files, file, this.options.environment)
      const cached = this.cache.documents.get(file)
      let problems: ConfigProblem[]
      if (cached && cached.base === base && cached.overlay === overlay && this.sameEnv(cached.loaded.envUsed)) {
        loaded = cached.loaded
        problems = cached.problems
      } else {
        problems = []
        loaded = buildDocument(file, base, overlay, this.options.env, problems)
        this.cache.documents.set(file, { base, overlay, loaded, problems })
      }
      this.documentProblems.push(...problems)
      this.documents.set(file, loaded)
    }
    for (const reads of this.trail) reads.documents.set(file, loaded)
    return loaded
  }

  private sameEnv(used: Map<string, string | undefined>): boolean {
    for (const [name, value] of used) if (this.options.env[name] !== value) return false
    return true
  }

  /** What an unknown key is under the registry's (or the caller's) `config_validation`. */
  get unknownKeys(): 'error' | 'warning' {
    return this.strict ? 'error' : 'warning'
  }

  validation(loaded: LoadedDocument, unknownKeys: ValidateOptions['unknownKeys'], sink = this.sink): ValidateOptions {
    return {
      file: loaded.fileOf,
      locate: loaded.locate,
      wholeReference: loaded.wholeReference,
      sink,
      unknownKeys,
      useDefaultsOnFailure: this.registry?.global.use_defaults_on_failure ?? false,
    }
  }

  /**
   * Validation of a merged table (a section and its bases, a wrappers file's `[global]` and the pool wrappers'): a
   * value is checked as written where it was written — a problem in a value that a base wrote is reported against
   * the file and line of that base, not the child's, so it reads as (and, for a registered base, is merged with) the
   * base's own; a `${VAR}` a base wrote takes its field's type in the child too.
   */
  layeredValidation(
    loaded: LoadedDocument,
    layers: readonly Layer[],
    unknownKeys: ValidateOptions['unknownKeys'],
    sink = this.sink,
  ): ValidateOptions {
    const options = this.validation(loaded, unknownKeys, sink)
    const origin = (keyPath: KeyPath) => writtenAt(layers, keyPath.slice(1)) ?? { loaded, path: keyPath }
    options.file = (keyPath) => {
      const where = origin(keyPath)
      return where.loaded.fileOf(where.path)
    }
    options.locate = (file, keyPath) => {
      const where = origin(keyPath)
      return where.loaded.locate(file, where.path)
    }
    options.wholeReference = (keyPath) => {
      const where = writtenAt(layers, keyPath.slice(1))
      return where?.loaded.wholeReference(where.path)
    }
    return options
  }

  /** Reports a problem of a merged section against the file and line that wrote the key. */
  sectionReport(loaded: LoadedDocument, layers: readonly Layer[]): SectionReport {
    return (keyPath, code, message, warning = false) => {
      const written = writtenAt(layers, keyPath.slice(1))
      this.problem(written?.loaded ?? loaded, written?.path ?? keyPath, code, message, warning, keyPath)
    }
  }

  /** Reports a problem at `keyPath` of `loaded` (shown as `shownPath`: the resolved path of a key a base wrote). */
  problem(
    loaded: LoadedDocument,
    keyPath: KeyPath,
    code: ConfigProblemCode,
    message: string,
    warning = false,
    shownPath = keyPath,
  ): void {
    const file = loaded.fileOf(keyPath)
    const problem: ConfigProblem = { code, file, path: formatPath(shownPath), message, ...loaded.locate(file, keyPath) }
    if (warning) this.sink.warn(problem)
    else this.sink.error(problem)
  }

  /** Whether a registered path stays inside the configuration directory. */
  insideDirectory(file: string): boolean {
    // The common case needs no path arithmetic: a relative path without `..` cannot leave the directory.
    if (!file.includes('..') && !path.isAbsolute(file) && !file.includes('\\') && file !== '' && file !== '.')
      return true
    let inside = this.cache.inside.get(file)
    if (inside === undefined) {
      const relative = path.relative(this.files.directory, path.resolve(this.files.directory, file))
      inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
      this.cache.inside.set(file, inside)
    }
    return inside
  }
}
