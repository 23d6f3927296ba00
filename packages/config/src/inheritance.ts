import { POOL_KEY_ALIASES } from '@llmpool/schema'
import type { LoadedDocument } from './document'
import type { Layer } from './layers'
import { deepMerge } from './merge'
import { getOwn } from './own'
import type { Resolution } from './resolution'
import { KIND_WORD, REGISTRY_SECTION, SECTION_SCHEMA, type SectionKind } from './section-kind'
import { didYouMean } from './suggest'
import { findUnknownKeys } from './unknown-keys'
import { isPlainTable } from './validate'

/**
 * A table with its `inherits_from` chain merged in. `complete` is false when the chain is broken (an unknown base, a
 * cycle: reported): `table` then holds what the chain gave up to the break, so that its values can still be checked.
 */
export interface Inherited {
  table: Record<string, unknown>
  complete: boolean
}

/**
 * Applies `inherits_from` (a table of this file, or another registered entry of the same kind), recursively: the
 * merged table, not yet validated. Each table merged goes to `layers`, child first, so that a value can be traced to
 * the table that wrote it.
 */
export function inherit(
  resolution: Resolution,
  kind: SectionKind,
  loaded: LoadedDocument,
  tableName: string,
  table: Record<string, unknown>,
  chain: string[],
  usedBases: Set<string>,
  layers: Layer[] = [],
): Inherited {
  const { table: own, aliases } = normalizeAliases(resolution, kind, loaded, tableName, table)
  layers.push({ loaded, at: [tableName], table: own, aliases })
  const baseName = own.inherits_from
  // A table that inherits nothing is checked for unknown keys together with everything else, in one pass.
  if (baseName === undefined && chain.length === 1) return { table: { ...own }, complete: true }
  // Otherwise unknown keys are reported where they are written, before tables merge.
  for (const unknown of findUnknownKeys(SECTION_SCHEMA[kind], own, [tableName]))
    resolution.problem(
      loaded,
      unknown.path,
      'unknown_key',
      `unknown key "${unknown.key}"${unknown.suggestion}`,
      !resolution.strict,
    )
  if (baseName === undefined) return { table: { ...own }, complete: true }
  const document = loaded.document!
  if (typeof baseName !== 'string' || baseName === '') return { table: own, complete: true } // the schema reports it
  const registered = resolution.registry[REGISTRY_SECTION[kind]]
  // A broken chain keeps the child's own table: its values are still checked (sections.ts).
  const broken: Inherited = { table: { ...own }, complete: false }
  let base: Inherited | undefined
  const localBase = getOwn(document, baseName)
  if (baseName !== kind && baseName !== tableName && isPlainTable(localBase)) {
    if (chain.includes(baseName)) {
      resolution.problem(
        loaded,
        [tableName, 'inherits_from'],
        'inheritance_cycle',
        `inheritance cycle: ${[...chain, baseName].join(' → ')}`,
      )
      return broken
    }
    usedBases.add(baseName)
    base = inherit(resolution, kind, loaded, baseName, localBase, [...chain, baseName], usedBases, layers)
  } else if (Object.hasOwn(registered, baseName)) {
    const id = `${kind}:${baseName}`
    for (const reads of resolution.trail) reads.bases.set(id, registered[baseName]!.file)
    if (resolution.resolving.includes(id)) {
      const names = resolution.resolving.slice(resolution.resolving.indexOf(id)).map((item) => item.split(':')[1])
      resolution.problem(
        loaded,
        [tableName, 'inherits_from'],
        'inheritance_cycle',
        `inheritance cycle: ${[...names, baseName].join(' → ')}`,
      )
      return broken
    }
    base = rawSection(resolution, kind, baseName, layers)
  } else {
    const candidates = [...Object.keys(document).filter((key) => key !== kind), ...Object.keys(registered)]
    resolution.problem(
      loaded,
      [tableName, 'inherits_from'],
      'unknown_base',
      `inherits_from "${baseName}" names neither a table of this file nor a registered ${KIND_WORD[kind]} (chain: ${[...chain, baseName].join(' → ')})${didYouMean(baseName, candidates)}`,
    )
    return broken
  }
  if (!base) return broken
  const { name: _name, inherits_from: _inherits, ...inherited } = base.table
  return { table: deepMerge(inherited, own) as Record<string, unknown>, complete: base.complete }
}

/** The merged (inheritance applied) but not yet defaulted table of a registered entry, used as a base. */
function rawSection(
  resolution: Resolution,
  kind: SectionKind,
  name: string,
  layers: Layer[] = [],
): Inherited | undefined {
  const entry = resolution.registry[REGISTRY_SECTION[kind]][name]!
  if (!resolution.insideDirectory(entry.file)) return undefined
  const loaded = resolution.document(entry.file)
  const table = loaded.document?.[kind]
  if (!isPlainTable(table)) {
    if (loaded.document)
      resolution.problem(loaded, [kind], 'missing_key', `a ${KIND_WORD[kind]} file needs a [${kind}] table`)
    return undefined
  }
  const id = `${kind}:${name}`
  resolution.resolving.push(id)
  const result = inherit(resolution, kind, loaded, kind, table, [kind], new Set(), layers)
  resolution.resolving.pop()
  // An enabled base reports its own unknown keys when it resolves; a disabled one (a template) does here.
  if (!entry.enabled)
    for (const unknown of findUnknownKeys(SECTION_SCHEMA[kind], table, [kind]))
      resolution.problem(
        loaded,
        unknown.path,
        'unknown_key',
        `unknown key "${unknown.key}"${unknown.suggestion}`,
        !resolution.strict,
      )
  return result
}

/** The document's flat `health_check_interval` etc. become `health_check.*`; `aliases` says which were used. */
function normalizeAliases(
  resolution: Resolution,
  kind: SectionKind,
  loaded: LoadedDocument,
  tableName: string,
  table: Record<string, unknown>,
) {
  if (kind !== 'pool' || !Object.keys(POOL_KEY_ALIASES).some((alias) => Object.hasOwn(table, alias)))
    return { table, aliases: undefined }
  const result: Record<string, unknown> = { ...table }
  const healthCheck: Record<string, unknown> = isPlainTable(table.health_check) ? { ...table.health_check } : {}
  const aliases = new Map<string, string>()
  for (const [alias, target] of Object.entries(POOL_KEY_ALIASES)) {
    if (!Object.hasOwn(result, alias)) continue
    const key = target.split('.')[1]!
    if (Object.hasOwn(healthCheck, key) && healthCheck[key] !== result[alias])
      resolution.problem(
        loaded,
        [tableName, alias],
        'conflicting_keys',
        `"${alias}" and "${target}" are both set, to different values; keep one`,
      )
    healthCheck[key] = result[alias]
    aliases.set(key, alias)
    delete result[alias]
  }
  result.health_check = healthCheck
  return { table: result, aliases }
}
