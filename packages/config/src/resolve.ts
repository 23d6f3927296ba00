import { createHash } from 'node:crypto'
import path from 'node:path'
import {
  POOL_KEY_ALIASES,
  Pool,
  PoolWrappersFile,
  RegistryFile,
  type RegistryEntry,
  type RegistryGlobal,
  TaskGroup,
  TaskGroupWrappersFile,
} from '@llmpool/schema'
import { checkApiKeys, type SectionReport } from './api-keys'
import { buildDocument, type LoadedDocument, readWithOverlay } from './document'
import { freezeConfig } from './freeze'
import { formatPath, type KeyPath, pathKey } from './key-path'
import { type Layer, writtenAt } from './layers'
import { deepMerge } from './merge'
import { checkNoEffect } from './no-effect'
import { recordOrigins } from './origins'
import { getOwn, setOwn } from './own'
import { type ConfigProblem, type ConfigProblemCode, ProblemSink } from './problems'
import { checkReferences } from './references'
import type { SourceFile, SourceFiles } from './source-files'
import { findUnknownKeys } from './unknown-keys'
import { didYouMean } from './suggest'
import type { ResolvedConfig, ResolvedWrapper } from './types'
import { isPlainTable, validate, type ValidateOptions } from './validate'

export const REGISTRY_FILE = '_registry.toml'

export interface ResolveOptions {
  /** Environment overlay to merge (`production` → `x.production.toml` over `x.toml`). */
  environment: string | undefined
  /** Variables for `${VAR}`. */
  env: NodeJS.ProcessEnv
  /** Overrides the registry's `config_validation`. */
  validation: 'strict' | 'lenient' | undefined
}

export interface ResolveResult {
  config: ResolvedConfig | undefined
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
  /** The registry's `[global]`, when the registry could be read (hot reload needs it even when the rest fails). */
  settings: RegistryGlobal | undefined
}

/**
 * What one resolution keeps for the next (hot reload): documents whose files and variables did not change are not
 * injected again, and sections whose documents did not change are not resolved again: the next configuration holds
 * the very same frozen objects, so the diff and the router see them as unchanged by identity.
 */
export class ResolutionCache {
  readonly documents = new Map<string, { base: SourceFile; overlay: SourceFile | undefined; loaded: LoadedDocument; problems: ConfigProblem[] }>()
  readonly sections = new Map<string, CachedSection>()
  readonly digests = new WeakMap<SourceFile, string>()
  /**
   * Keep a digest per file (hot reload: a reload then hashes only the files that changed). A one-shot load hashes
   * the texts directly instead: no digest per file to make and keep.
   */
  constructor(readonly perFileDigests = false) {}
  /** The validated registry of a registry document, with its problems. */
  registry: { loaded: LoadedDocument; validation: string | undefined; registry: RegistryFile; strict: boolean; errors: ConfigProblem[]; warnings: ConfigProblem[] } | undefined
  /** Whether a registered path stays inside the directory, by path. */
  readonly inside = new Map<string, boolean>()
}

interface CachedSection {
  /** Settings it was resolved under. */
  settings: string
  /** Documents it read, by file, and registered bases it looked up, by name → file. */
  documents: Map<string, LoadedDocument>
  bases: Map<string, string>
  value: Record<string, unknown> | undefined
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
}

type SectionKind = 'pool' | 'task_group'

const SECTION_SCHEMA = { pool: Pool, task_group: TaskGroup }
const REGISTRY_SECTION: Record<SectionKind, 'pools' | 'task_groups'> = { pool: 'pools', task_group: 'task_groups' }
const KIND_WORD: Record<SectionKind, string> = { pool: 'pool', task_group: 'task group' }

/** One run of the loading pipeline over a configuration directory. */
class Resolution {
  readonly sink = new ProblemSink()
  private readonly documents = new Map<string, LoadedDocument>()
  private readonly resolved = new Map<string, Record<string, unknown> | undefined>()
  private readonly resolving: string[] = []
  private readonly documentProblems: ConfigProblem[] = []
  /** What the sections being resolved read, innermost last (for the section cache). */
  private readonly trail: { documents: Map<string, LoadedDocument>; bases: Map<string, string> }[] = []
  private registry!: RegistryFile
  private strict = true

  constructor(
    private readonly files: SourceFiles,
    private readonly options: ResolveOptions,
    private readonly cache: ResolutionCache,
  ) {}

  run(): ResolveResult {
    const registryDocument = this.document(REGISTRY_FILE)
    if (!registryDocument.document) return this.result(undefined, undefined)
    const cached = this.cache.registry
    let registry: RegistryFile
    if (cached && cached.loaded === registryDocument && cached.validation === this.options.validation) {
      registry = cached.registry
      for (const error of cached.errors) this.sink.error(error)
      for (const warning of cached.warnings) this.sink.warn(warning)
    } else {
      const errorCount = this.sink.errors.length
      const warningCount = this.sink.warnings.length
      registry = this.validateRegistry(registryDocument)
      this.registry = registry
      this.checkEntries()
      const errors = this.sink.errors.slice(errorCount)
      const warnings = this.sink.warnings.slice(warningCount)
      this.cache.registry = { loaded: registryDocument, validation: this.options.validation, registry, strict: this.strict, errors, warnings }
    }
    this.registry = registry
    this.strict = (this.options.validation ?? registry.global.config_validation) === 'strict'

    const pools: Record<string, Record<string, unknown>> = {}
    const taskGroups: Record<string, Record<string, unknown>> = {}
    for (const kind of ['task_group', 'pool'] as const) {
      const target = kind === 'pool' ? pools : taskGroups
      for (const [name, entry] of Object.entries(registry[REGISTRY_SECTION[kind]])) {
        if (!entry.enabled || !this.insideDirectory(entry.file)) continue
        const section = this.section(kind, name)
        if (section) target[name] = section
      }
    }
    const wrappers = this.wrappers()
    checkReferences({
      registry,
      pools: pools as unknown as Record<string, Pool>,
      taskGroups: taskGroups as unknown as Record<string, TaskGroup>,
      wrappers,
      report: (kind, name, keyPath, code, message) => this.referenceProblem(kind, name, keyPath, code, message),
    })
    checkNoEffect({ pools: pools as unknown as Record<string, Pool>, taskGroups: taskGroups as unknown as Record<string, TaskGroup> }, (written, keyPath, message) =>
      this.problem(written.loaded, written.path, 'no_effect', message, true, keyPath),
    )
    if (!this.sink.ok || this.documentProblems.length > 0) return this.result(undefined, registry.global)

    const files = { pools: {} as Record<string, string>, task_groups: {} as Record<string, string>, wrappers: {} as Record<string, string> }
    for (const name of Object.keys(pools)) files.pools[name] = registry.pools[name]!.file
    for (const name of Object.keys(taskGroups)) files.task_groups[name] = registry.task_groups[name]!.file
    for (const [name, wrapper] of Object.entries(wrappers)) files.wrappers[name] = wrapper.file
    const config = freezeConfig({
      registry,
      pools: pools as unknown as Record<string, Pool>,
      task_groups: taskGroups as unknown as Record<string, TaskGroup>,
      wrappers,
      source: {
        directory: this.files.directory,
        environment: this.options.environment,
        hash: this.hash(),
        files,
      },
    })
    return this.result(config, registry.global)
  }

  private result(config: ResolvedConfig | undefined, settings: RegistryGlobal | undefined): ResolveResult {
    return { config, errors: [...this.documentProblems, ...this.sink.errors], warnings: this.sink.warnings, settings }
  }

  /** Every file read, with its content, in a stable order. */
  private hash(): string {
    const hash = createHash('sha256')
    hash.update(`environment:${this.options.environment ?? ''}\n`)
    const sources = new Map<string, SourceFile>()
    for (const loaded of this.documents.values()) for (const source of loaded.sources) sources.set(source.relative, source)
    for (const relative of [...sources.keys()].sort()) {
      const source = sources.get(relative)!
      hash.update(`${relative}\n`)
      hash.update(this.cache.perFileDigests ? this.digest(source) : (source.text ?? ''))
      hash.update('\n')
    }
    // Injected values change the configuration without changing a file.
    const used = new Map<string, string | undefined>()
    for (const loaded of this.documents.values()) for (const [name, value] of loaded.envUsed) used.set(name, value)
    for (const name of [...used.keys()].sort()) hash.update(`env:${name}=${used.get(name) ?? ''}\n`)
    return hash.digest('hex')
  }

  private digest(source: SourceFile): string {
    let digest = this.cache.digests.get(source)
    if (digest === undefined) {
      digest = createHash('sha256').update(source.text ?? '').digest('hex')
      this.cache.digests.set(source, digest)
    }
    return digest
  }

  /** A registered file, read, overlaid and injected; the same object as last time when nothing it used changed. */
  private document(file: string): LoadedDocument {
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

  private validation(loaded: LoadedDocument, unknownKeys: ValidateOptions['unknownKeys'], sink = this.sink): ValidateOptions {
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
  private layeredValidation(loaded: LoadedDocument, layers: readonly Layer[], unknownKeys: ValidateOptions['unknownKeys'], sink = this.sink): ValidateOptions {
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

  private get unknownKeys(): 'error' | 'warning' {
    return this.strict ? 'error' : 'warning'
  }

  /** Reports a problem of a merged section against the file and line that wrote the key. */
  private sectionReport(loaded: LoadedDocument, layers: readonly Layer[]): SectionReport {
    return (keyPath, code, message, warning = false) => {
      const written = writtenAt(layers, keyPath.slice(1))
      this.problem(written?.loaded ?? loaded, written?.path ?? keyPath, code, message, warning, keyPath)
    }
  }

  private problem(loaded: LoadedDocument, keyPath: KeyPath, code: ConfigProblemCode, message: string, warning = false, shownPath = keyPath): void {
    const file = loaded.fileOf(keyPath)
    const problem: ConfigProblem = { code, file, path: formatPath(shownPath), message, ...loaded.locate(file, keyPath) }
    if (warning) this.sink.warn(problem)
    else this.sink.error(problem)
  }

  /** The registry, section by section, so that one bad section does not hide the problems of the rest. */
  private validateRegistry(loaded: LoadedDocument): RegistryFile {
    const document = loaded.document!
    const schema = RegistryFile as unknown as { properties: Record<string, { default?: unknown }> }
    // Strictness comes from the registry itself, so read it first.
    const globalValue = document.global
    const declared = isPlainTable(globalValue) ? globalValue.config_validation : undefined
    this.strict = (this.options.validation ?? declared ?? 'strict') !== 'lenient'
    const declaredDefaults = isPlainTable(globalValue) ? globalValue.use_defaults_on_failure : undefined
    const useDefaults =
      declaredDefaults === true || (declaredDefaults === 'true' && loaded.wholeReference(['global', 'use_defaults_on_failure']) !== undefined)
    const registry: Record<string, unknown> = {}
    for (const [key, sectionSchema] of Object.entries(schema.properties)) {
      const value = Object.hasOwn(document, key) ? document[key] : sectionSchema.default
      const options = { ...this.validation(loaded, this.unknownKeys), useDefaultsOnFailure: useDefaults }
      registry[key] = validate(sectionSchema, value, [key], options) ?? this.usableEntries(sectionSchema, value, key, loaded)
    }
    for (const key of Object.keys(document)) {
      if (!Object.hasOwn(schema.properties, key))
        this.problem(loaded, [key], 'unknown_key', `unknown key "${key}"${didYouMean(key, Object.keys(schema.properties))}`, !this.strict)
    }
    return registry as unknown as RegistryFile
  }

  /**
   * When a section of entries (`[pools]`, `[dependencies]`, ...) has a problem, which was reported, the entries that
   * are usable on their own are kept, so that one bad entry does not make every reference to the others fail too.
   */
  private usableEntries(sectionSchema: { default?: unknown }, value: unknown, key: string, loaded: LoadedDocument): unknown {
    const patterns = (sectionSchema as { patternProperties?: Record<string, unknown> }).patternProperties
    const [namePattern, entrySchema] = patterns ? (Object.entries(patterns)[0] ?? []) : []
    if (namePattern === undefined || !isPlainTable(value)) return sectionSchema.default
    const names = new RegExp(namePattern, 'u')
    const entries: Record<string, unknown> = {}
    for (const [name, entry] of Object.entries(value)) {
      if (!names.test(name)) continue
      const checked = validate(entrySchema, entry, [key, name], this.validation(loaded, 'ignore', new ProblemSink()))
      if (checked !== undefined) setOwn(entries, name, checked)
    }
    return entries
  }

  /** Registry-level checks: paths stay inside the directory, names are unique across kinds. */
  private checkEntries(): void {
    const registryDocument = this.document(REGISTRY_FILE)
    const seen = new Map<string, string>()
    for (const section of ['pools', 'task_groups', 'wrappers'] as const) {
      for (const [name, entry] of Object.entries(this.registry[section])) {
        if (!this.insideDirectory(entry.file))
          this.problem(registryDocument, [section, name, 'file'], 'path_outside_config_dir', `"${entry.file}" leaves the configuration directory; registered files must be inside it`)
        const other = seen.get(name)
        if (other)
          this.problem(registryDocument, [section, name], 'duplicate_name', `"${name}" is also registered under [${other}]; names must be unique across pools, task groups and wrappers`)
        else seen.set(name, section)
      }
    }
  }

  private insideDirectory(file: string): boolean {
    // The common case needs no path arithmetic: a relative path without `..` cannot leave the directory.
    if (!file.includes('..') && !path.isAbsolute(file) && !file.includes('\\') && file !== '' && file !== '.') return true
    let inside = this.cache.inside.get(file)
    if (inside === undefined) {
      const relative = path.relative(this.files.directory, path.resolve(this.files.directory, file))
      inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
      this.cache.inside.set(file, inside)
    }
    return inside
  }

  /** `[pool]` or `[task_group]` of a registered entry, inheritance applied and validated; memoized. */
  private section(kind: SectionKind, name: string): Record<string, unknown> | undefined {
    const id = `${kind}:${name}`
    if (this.resolved.has(id)) return this.resolved.get(id)
    const entry = this.registry[REGISTRY_SECTION[kind]][name]!
    const settings = `${this.strict}:${this.registry.global.use_defaults_on_failure}:${entry.file}`
    const cached = this.cache.sections.get(id)
    if (cached && cached.settings === settings && this.unchanged(cached)) {
      for (const error of cached.errors) this.sink.error(error)
      for (const warning of cached.warnings) this.sink.warn(warning)
      this.resolved.set(id, cached.value)
      return cached.value
    }
    const reads = { documents: new Map<string, LoadedDocument>(), bases: new Map<string, string>() }
    this.trail.push(reads)
    const errorCount = this.sink.errors.length
    const warningCount = this.sink.warnings.length
    const loaded = this.document(entry.file)
    let value: Record<string, unknown> | undefined
    if (loaded.document) {
      this.resolving.push(id)
      value = this.resolveSection(kind, name, loaded)
      this.resolving.pop()
    }
    this.trail.pop()
    this.resolved.set(id, value)
    this.cache.sections.set(id, {
      settings,
      ...reads,
      value,
      errors: this.sink.errors.slice(errorCount),
      warnings: this.sink.warnings.slice(warningCount),
    })
    return value
  }

  /** True when every document and registered base a cached section read is still the same. */
  private unchanged(cached: CachedSection): boolean {
    for (const [reference, file] of cached.bases) {
      const [kind, name] = reference.split(':') as [SectionKind, string]
      if (this.registry[REGISTRY_SECTION[kind]][name]?.file !== file) return false
    }
    for (const [file, loaded] of cached.documents) if (this.document(file) !== loaded) return false
    return true
  }

  private resolveSection(kind: SectionKind, name: string, loaded: LoadedDocument): Record<string, unknown> | undefined {
    const document = loaded.document!
    const table = document[kind]
    if (!isPlainTable(table)) {
      this.problem(loaded, [kind], table === undefined ? 'missing_key' : 'invalid_type', `a ${KIND_WORD[kind]} file needs a [${kind}] table`)
      return undefined
    }
    const usedBases = new Set<string>()
    const layers: Layer[] = []
    const merged = this.inherit(kind, loaded, kind, table, [kind], usedBases, layers)
    const inherits = table.inherits_from !== undefined
    for (const key of Object.keys(document)) {
      if (key === kind || usedBases.has(key)) continue
      const message = isPlainTable(document[key])
        ? `unknown table [${key}]: a ${KIND_WORD[kind]} file holds [${kind}] and the tables its inherits_from names${didYouMean(key, [kind])}`
        : `unknown key "${key}"${didYouMean(key, [kind])}`
      this.problem(loaded, [key], 'unknown_key', message, !this.strict)
    }
    if (!merged) return undefined
    if (kind === 'task_group') this.reconcileFallbackStrategy(loaded, merged)
    const options = this.layeredValidation(loaded, layers, inherits ? 'ignore' : this.unknownKeys)
    const replaced = new Set<string>()
    options.onDefaultUsed = (keyPath) => replaced.add(pathKey(keyPath))
    const value = validate(SECTION_SCHEMA[kind], merged, [kind], options) as Record<string, unknown> | undefined
    if (!value) return undefined
    recordOrigins(value, { loaded, layers, replaced })
    if (value.name !== name)
      this.problem(loaded, [kind, 'name'], 'name_mismatch', `name "${String(value.name)}" differs from its registry key "${name}"; they must be equal`)
    if (kind === 'task_group') this.defaultPriorities(value)
    if (kind === 'pool') this.checkRateLimiting(loaded, value)
    if (kind === 'task_group') {
      const where = (keyPath: KeyPath) => writtenAt(layers, keyPath.slice(1))
      checkApiKeys(value.echelons as TaskGroup['echelons'], this.sectionReport(loaded, layers), (keyPath) => {
        const written = where(keyPath)
        return written?.loaded.wholeReference(written.path)
      })
    }
    return value
  }

  /** Applies `inherits_from` (a table of this file, or another registered entry of the same kind), recursively. */
  private inherit(
    kind: SectionKind,
    loaded: LoadedDocument,
    tableName: string,
    table: Record<string, unknown>,
    chain: string[],
    usedBases: Set<string>,
    layers: Layer[] = [],
  ): Record<string, unknown> | undefined {
    const { table: own, aliases } = this.normalizeAliases(kind, loaded, tableName, table)
    layers.push({ loaded, at: [tableName], table: own, aliases })
    const baseName = own.inherits_from
    // A table that inherits nothing is checked for unknown keys together with everything else, in one pass.
    if (baseName === undefined && chain.length === 1) return { ...own }
    // Otherwise unknown keys are reported where they are written, before tables merge.
    for (const unknown of findUnknownKeys(SECTION_SCHEMA[kind], own, [tableName]))
      this.problem(loaded, unknown.path, 'unknown_key', `unknown key "${unknown.key}"${unknown.suggestion}`, !this.strict)
    if (baseName === undefined) return { ...own }
    const document = loaded.document!
    if (typeof baseName !== 'string' || baseName === '') return own // the schema reports it
    let base: Record<string, unknown> | undefined
    const localBase = getOwn(document, baseName)
    if (baseName !== kind && baseName !== tableName && isPlainTable(localBase)) {
      if (chain.includes(baseName)) {
        this.problem(loaded, [tableName, 'inherits_from'], 'inheritance_cycle', `inheritance cycle: ${[...chain, baseName].join(' → ')}`)
        return undefined
      }
      usedBases.add(baseName)
      base = this.inherit(kind, loaded, baseName, localBase, [...chain, baseName], usedBases, layers)
    } else if (Object.hasOwn(this.registry[REGISTRY_SECTION[kind]], baseName)) {
      const id = `${kind}:${baseName}`
      for (const reads of this.trail) reads.bases.set(id, this.registry[REGISTRY_SECTION[kind]][baseName]!.file)
      if (this.resolving.includes(id)) {
        const names = this.resolving.slice(this.resolving.indexOf(id)).map((item) => item.split(':')[1])
        this.problem(loaded, [tableName, 'inherits_from'], 'inheritance_cycle', `inheritance cycle: ${[...names, baseName].join(' → ')}`)
        return undefined
      }
      base = this.rawSection(kind, baseName, layers)
    } else {
      const candidates = [...Object.keys(document).filter((key) => key !== kind), ...Object.keys(this.registry[REGISTRY_SECTION[kind]])]
      this.problem(
        loaded,
        [tableName, 'inherits_from'],
        'unknown_base',
        `inherits_from "${baseName}" names neither a table of this file nor a registered ${KIND_WORD[kind]} (chain: ${[...chain, baseName].join(' → ')})${didYouMean(baseName, candidates)}`,
      )
      return undefined
    }
    if (!base) return undefined
    const { name: _name, inherits_from: _inherits, ...inherited } = base
    return deepMerge(inherited, own) as Record<string, unknown>
  }

  /** The merged (inheritance applied) but not yet defaulted table of a registered entry, used as a base. */
  private rawSection(kind: SectionKind, name: string, layers: Layer[] = []): Record<string, unknown> | undefined {
    const entry = this.registry[REGISTRY_SECTION[kind]][name]!
    if (!this.insideDirectory(entry.file)) return undefined
    const loaded = this.document(entry.file)
    const table = loaded.document?.[kind]
    if (!isPlainTable(table)) {
      if (loaded.document) this.problem(loaded, [kind], 'missing_key', `a ${KIND_WORD[kind]} file needs a [${kind}] table`)
      return undefined
    }
    const id = `${kind}:${name}`
    this.resolving.push(id)
    const result = this.inherit(kind, loaded, kind, table, [kind], new Set(), layers)
    this.resolving.pop()
    // An enabled base reports its own unknown keys when it resolves; a disabled one (a template) does here.
    if (!entry.enabled)
      for (const unknown of findUnknownKeys(SECTION_SCHEMA[kind], table, [kind]))
        this.problem(loaded, unknown.path, 'unknown_key', `unknown key "${unknown.key}"${unknown.suggestion}`, !this.strict)
    return result
  }

  /** The document's flat `health_check_interval` etc. become `health_check.*`; `aliases` says which were used. */
  private normalizeAliases(kind: SectionKind, loaded: LoadedDocument, tableName: string, table: Record<string, unknown>) {
    if (kind !== 'pool' || !Object.keys(POOL_KEY_ALIASES).some((alias) => Object.hasOwn(table, alias))) return { table, aliases: undefined }
    const result: Record<string, unknown> = { ...table }
    const healthCheck: Record<string, unknown> = isPlainTable(table.health_check) ? { ...table.health_check } : {}
    const aliases = new Map<string, string>()
    for (const [alias, target] of Object.entries(POOL_KEY_ALIASES)) {
      if (!Object.hasOwn(result, alias)) continue
      const key = target.split('.')[1]!
      if (Object.hasOwn(healthCheck, key) && healthCheck[key] !== result[alias])
        this.problem(loaded, [tableName, alias], 'conflicting_keys', `"${alias}" and "${target}" are both set, to different values; keep one`)
      healthCheck[key] = result[alias]
      aliases.set(key, alias)
      delete result[alias]
    }
    result.health_check = healthCheck
    return { table: result, aliases }
  }

  private reconcileFallbackStrategy(loaded: LoadedDocument, table: Record<string, unknown>): void {
    const fallback = isPlainTable(table.fallback) ? { ...table.fallback } : undefined
    const top = table.fallback_strategy
    const nested = fallback?.strategy
    if (top !== undefined && nested !== undefined && top !== nested) {
      this.problem(loaded, ['task_group', 'fallback_strategy'], 'conflicting_keys', `fallback_strategy = "${String(top)}" but fallback.strategy = "${String(nested)}"; they must agree (or keep one)`)
      return
    }
    if (top !== undefined && nested === undefined && (fallback || table.fallback === undefined)) table.fallback = { ...fallback, strategy: top }
    if (nested !== undefined && top === undefined) table.fallback_strategy = nested
  }

  /** An echelon without `priority` takes its position in the file (1, 2, ...). */
  private defaultPriorities(group: Record<string, unknown>): void {
    const echelons = group.echelons as Record<string, Record<string, unknown>>
    Object.values(echelons).forEach((echelon, index) => {
      if (echelon.priority === undefined) echelon.priority = index + 1
    })
  }

  private checkRateLimiting(loaded: LoadedDocument, pool: Record<string, unknown>): void {
    const rateLimiting = pool.rate_limiting as { enabled: boolean; algorithm: string } & Record<string, unknown>
    if (rateLimiting.enabled && rateLimiting[rateLimiting.algorithm] === undefined)
      this.problem(loaded, ['pool', 'rate_limiting', rateLimiting.algorithm], 'missing_key', `rate limiting is enabled with algorithm "${rateLimiting.algorithm}" but [pool.rate_limiting.${rateLimiting.algorithm}] is missing`)
  }

  /** Wrapper files: each validated as a pool-wrappers or task-group-wrappers file, globals inherited. */
  private wrappers(): Record<string, ResolvedWrapper> {
    type WrapperFile = { loaded: LoadedDocument; kind: 'pool_wrappers' | 'task_group_wrappers'; document: Record<string, unknown> }
    const files: WrapperFile[] = []
    for (const entry of Object.values(this.registry.wrappers) as RegistryEntry[]) {
      if (!entry.enabled || !this.insideDirectory(entry.file)) continue
      const loaded = this.document(entry.file)
      if (!loaded.document) continue
      const declared = isPlainTable(loaded.document.wrappers) ? Object.values(loaded.document.wrappers) : []
      const allTaskGroups = declared.length > 0 && declared.every((wrapper) => isPlainTable(wrapper) && wrapper.type === 'task_group')
      files.push({ loaded, kind: allTaskGroups ? 'task_group_wrappers' : 'pool_wrappers', document: loaded.document })
    }
    const globalLayer = (file: WrapperFile): Layer => ({
      loaded: file.loaded,
      at: ['global'],
      table: isPlainTable(file.document.global) ? file.document.global : {},
    })
    // Merged in registry order, so the last pool wrappers file wins: its layer comes first.
    const poolGlobals = files.filter((file) => file.kind === 'pool_wrappers').map(globalLayer)
    const inheritedGlobal = poolGlobals.reduce<unknown>((merged, layer) => deepMerge(merged, layer.table), {})
    poolGlobals.reverse()
    const result: Record<string, ResolvedWrapper> = {}
    const owner = new Map<string, string>()
    for (const file of files) {
      const schema = file.kind === 'pool_wrappers' ? PoolWrappersFile : TaskGroupWrappersFile
      const options = this.validation(file.loaded, this.unknownKeys)
      const replaced = new Set<string>()
      options.onDefaultUsed = (keyPath) => replaced.add(pathKey(keyPath))
      options.unknownKeyHint = (keyPath, key) =>
        file.kind === 'pool_wrappers' && keyPath.join('.') === 'global' && (key === 'function_calling_enabled' || key === 'tool_selection_strategy')
          ? ': it belongs in a task-group wrappers file (one whose wrappers all have type = "task_group")'
          : undefined
      const checked = validate(schema, file.document, [], options) as { wrappers: Record<string, Record<string, unknown>> } | undefined
      if (!checked) continue
      // A task-group wrappers file inherits the pool wrappers' [global]; its own keys win.
      const ownGlobal = isPlainTable(file.document.global) ? file.document.global : {}
      const merged = file.kind === 'task_group_wrappers' ? deepMerge(inheritedGlobal, ownGlobal) : ownGlobal
      const layers = file.kind === 'task_group_wrappers' ? [globalLayer(file), ...poolGlobals] : [globalLayer(file)]
      const globalOptions = this.layeredValidation(file.loaded, layers, 'ignore', new ProblemSink())
      globalOptions.onDefaultUsed = options.onDefaultUsed
      const global = validate(schema.properties.global, merged, ['global'], globalOptions)
      // A task-group wrapper in a pool wrappers file gets the task-group settings too, at their defaults.
      let taskGroupGlobal: unknown
      const globalOf = (wrapper: Record<string, unknown>) =>
        file.kind === 'pool_wrappers' && wrapper.type === 'task_group'
          ? (taskGroupGlobal ??= validate(TaskGroupWrappersFile.properties.global, ownGlobal, ['global'], this.validation(file.loaded, 'ignore', new ProblemSink())))
          : global
      for (const [name, wrapper] of Object.entries(checked.wrappers)) {
        const other = owner.get(name)
        if (other) {
          this.problem(file.loaded, ['wrappers', name], 'duplicate_name', `wrapper "${name}" is also defined in ${other}`)
          continue
        }
        owner.set(name, file.loaded.file)
        if (this.isRegisteredName(name))
          this.problem(file.loaded, ['wrappers', name], 'duplicate_name', `"${name}" is also a registered name; wrapper, pool and task group names must be unique`)
        if (wrapper.enabled === false) continue
        const resolved = { ...wrapper, file: file.loaded.file, global: globalOf(wrapper) } as ResolvedWrapper
        const own = (file.document.wrappers as Record<string, Record<string, unknown>>)[name]!
        recordOrigins(resolved, {
          loaded: file.loaded,
          layers: [{ loaded: file.loaded, at: ['wrappers', name], table: own }],
          globalLayers: file.kind === 'task_group_wrappers' ? layers : layers.slice(0, 1),
          replaced,
        })
        result[name] = resolved
      }
    }
    return result
  }

  private isRegisteredName(name: string): boolean {
    const { pools, task_groups: taskGroups, wrappers } = this.registry
    return Object.hasOwn(pools, name) || Object.hasOwn(taskGroups, name) || Object.hasOwn(wrappers, name)
  }

  private referenceProblem(kind: 'pool' | 'task_group' | 'wrapper' | 'registry', name: string, keyPath: KeyPath, code: ConfigProblemCode, message: string): void {
    let file: string
    if (kind === 'registry') file = REGISTRY_FILE
    else if (kind === 'wrapper') file = this.wrapperFileOf(name)
    else file = this.registry[REGISTRY_SECTION[kind]][name]!.file
    this.problem(this.document(file), keyPath, code, message)
  }

  private wrapperFileOf(name: string): string {
    for (const entry of Object.values(this.registry.wrappers)) {
      const wrappers = this.documents.get(entry.file)?.document?.wrappers
      if (isPlainTable(wrappers) && Object.hasOwn(wrappers, name)) return entry.file
    }
    return REGISTRY_FILE
  }
}

/**
 * Runs the whole loading pipeline once. Never throws for a problem of the configuration: it returns problems.
 * Pass the cache of the previous run to reuse what did not change.
 */
export function resolveConfiguration(files: SourceFiles, options: ResolveOptions, cache = new ResolutionCache()): ResolveResult {
  return new Resolution(files, options, cache).run()
}
