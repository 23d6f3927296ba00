import type { LoadedDocument } from './document'
import type { KeyPath } from './key-path'
import { hasPath } from './merge'

/**
 * One table that went into a merged table — a pool and its `inherits_from` bases, a task-group wrappers file's
 * `[global]` and the pool wrappers' — in the order they win (child first): where a merged value was written.
 */
export interface Layer {
  loaded: LoadedDocument
  /** The path of the table in its document: `['pool']`, `['base_pool']`, `['global']`. */
  at: KeyPath
  /** The table as it was merged (the document's flat aliases already moved into `health_check`). */
  table: Record<string, unknown>
  /** Keys the table wrote as an alias, by the key they stand for: `interval` → `health_check_interval`. */
  aliases?: ReadonlyMap<string, string>
}

/** A key as written: the document that wrote it and the key path there. */
export interface Written {
  loaded: LoadedDocument
  path: KeyPath
}

/** Keys of the child's own table that are never inherited. */
const OWN_KEYS = new Set(['name', 'inherits_from'])

/** The first layer that holds `rest` (a key path inside the merged table): the one whose value won. */
export function writingLayer(layers: readonly Layer[], rest: KeyPath): Layer | undefined {
  const first = rest[0]
  const count = typeof first === 'string' && OWN_KEYS.has(first) ? Math.min(1, layers.length) : layers.length
  for (let index = 0; index < count; index++) if (hasPath(layers[index]!.table, rest)) return layers[index]
  return undefined
}

/**
 * Where the value at `rest` (a key path inside the merged table) was written: the first layer that holds it, with
 * the key path in that layer's document; undefined when no layer wrote it (a default filled it in).
 */
export function writtenAt(layers: readonly Layer[], rest: KeyPath): Written | undefined {
  const layer = writingLayer(layers, rest)
  if (!layer) return undefined
  const alias = rest[0] === 'health_check' && typeof rest[1] === 'string' ? layer.aliases?.get(rest[1]) : undefined
  return {
    loaded: layer.loaded,
    path: alias === undefined ? [...layer.at, ...rest] : [...layer.at, alias, ...rest.slice(2)],
  }
}
