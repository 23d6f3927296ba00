import type { LoadedDocument } from './document'
import { pathKey } from './key-path'
import { inherit } from './inheritance'
import type { Layer } from './layers'
import { recordOrigins } from './origins'
import { ProblemSink, type SectionReport } from './problems'
import type { Resolution } from './resolution'
import type { CachedSection } from './resolution-cache'
import { KIND_WORD, REGISTRY_SECTION, SECTION_SCHEMA, type SectionKind } from './section-kind'
import { applySectionRules, reconcileFallbackStrategy } from './section-rules'
import { didYouMean } from './suggest'
import { isPlainTable, validate, type ValidateOptions } from './validate'

/**
 * `[pool]` or `[task_group]` of a registered entry, inheritance applied and validated; memoized for the run, and
 * taken from the cache (problems and all) when nothing it read changed.
 */
export function resolveSection(
  resolution: Resolution,
  kind: SectionKind,
  name: string,
): Record<string, unknown> | undefined {
  const { cache, sink } = resolution
  const id = `${kind}:${name}`
  if (resolution.resolved.has(id)) return resolution.resolved.get(id)
  const entry = resolution.registry[REGISTRY_SECTION[kind]][name]!
  const settings = `${resolution.strict}:${resolution.registry.global.use_defaults_on_failure}:${entry.file}`
  const cached = cache.sections.get(id)
  if (cached && cached.settings === settings && unchanged(resolution, cached)) {
    for (const error of cached.errors) sink.error(error)
    for (const warning of cached.warnings) sink.warn(warning)
    resolution.resolved.set(id, cached.value)
    return cached.value
  }
  const reads = { documents: new Map<string, LoadedDocument>(), bases: new Map<string, string>() }
  resolution.trail.push(reads)
  const errorCount = sink.errors.length
  const warningCount = sink.warnings.length
  const loaded = resolution.document(entry.file)
  let value: Record<string, unknown> | undefined
  if (loaded.document) {
    resolution.resolving.push(id)
    value = resolveTable(resolution, kind, name, loaded)
    resolution.resolving.pop()
  }
  resolution.trail.pop()
  resolution.resolved.set(id, value)
  cache.sections.set(id, {
    settings,
    ...reads,
    value,
    errors: sink.errors.slice(errorCount),
    warnings: sink.warnings.slice(warningCount),
  })
  return value
}

/** True when every document and registered base a cached section read is still the same. */
function unchanged(resolution: Resolution, cached: CachedSection): boolean {
  for (const [reference, file] of cached.bases) {
    const [kind, name] = reference.split(':') as [SectionKind, string]
    if (resolution.registry[REGISTRY_SECTION[kind]][name]?.file !== file) return false
  }
  for (const [file, loaded] of cached.documents) if (resolution.document(file) !== loaded) return false
  return true
}

/** The section's table: inherited, validated with defaults, its rules checked, and its origins recorded. */
function resolveTable(
  resolution: Resolution,
  kind: SectionKind,
  name: string,
  loaded: LoadedDocument,
): Record<string, unknown> | undefined {
  const document = loaded.document!
  const table = document[kind]
  if (!isPlainTable(table)) {
    resolution.problem(
      loaded,
      [kind],
      table === undefined ? 'missing_key' : 'invalid_type',
      `a ${KIND_WORD[kind]} file needs a [${kind}] table`,
    )
    return undefined
  }
  const usedBases = new Set<string>()
  const layers: Layer[] = []
  const inherited = inherit(resolution, kind, loaded, kind, table, [kind], usedBases, layers)
  const merged = inherited.table
  const inherits = table.inherits_from !== undefined
  for (const key of Object.keys(document)) {
    if (key === kind || usedBases.has(key)) continue
    const message = isPlainTable(document[key])
      ? `unknown table [${key}]: a ${KIND_WORD[kind]} file holds [${kind}] and the tables its inherits_from names${didYouMean(key, [kind])}`
      : `unknown key "${key}"${didYouMean(key, [kind])}`
    resolution.problem(loaded, [key], 'unknown_key', message, !resolution.strict)
  }
  const report: SectionReport = (keyPath, code, message, warning) =>
    resolution.problem(loaded, keyPath, code, message, warning)
  if (kind === 'task_group') reconcileFallbackStrategy(merged, report)
  const options = resolution.layeredValidation(loaded, layers, inherits ? 'ignore' : resolution.unknownKeys)
  if (!inherited.complete) {
    checkWithoutBase(resolution, kind, name, loaded, merged, options)
    return undefined
  }
  const replaced = new Set<string>()
  options.onDefaultUsed = (keyPath) => replaced.add(pathKey(keyPath))
  const value = validate(SECTION_SCHEMA[kind], merged, [kind], options) as Record<string, unknown> | undefined
  if (!value) return undefined
  recordOrigins(value, { loaded, layers, replaced })
  if (value.name !== name)
    resolution.problem(
      loaded,
      [kind, 'name'],
      'name_mismatch',
      `name "${String(value.name)}" differs from its registry key "${name}"; they must be equal`,
    )
  applySectionRules(kind, value, layers, report, resolution.sectionReport(loaded, layers))
  return value
}

/**
 * A section whose `inherits_from` chain is broken (reported) is still checked, so that one bad name does not hide its
 * other problems: every value it and the part of its chain that resolved wrote, and its `name`. A missing key is not
 * reported (the base that was meant may give it), nor is anything that needs the whole section (references, the
 * rate-limiting table): those are checked once the base is fixed.
 */
function checkWithoutBase(
  resolution: Resolution,
  kind: SectionKind,
  name: string,
  loaded: LoadedDocument,
  merged: Record<string, unknown>,
  options: ValidateOptions,
): void {
  const sink = new ProblemSink()
  validate(SECTION_SCHEMA[kind], merged, [kind], { ...options, sink })
  for (const error of sink.errors) if (error.code !== 'missing_key') resolution.sink.error(error)
  for (const warning of sink.warnings) resolution.sink.warn(warning)
  const written = merged.name
  if (typeof written === 'string' && written !== '' && written !== name)
    resolution.problem(
      loaded,
      [kind, 'name'],
      'name_mismatch',
      `name "${written}" differs from its registry key "${name}"; they must be equal`,
    )
}
