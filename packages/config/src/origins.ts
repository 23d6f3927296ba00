import type { LoadedDocument } from './document'
import { type KeyPath, pathKey } from './key-path'
import type { Layer } from './layers'

/** What a resolution knows of where the values of one resolved pool, task group or wrapper were written. */
export interface Origins {
  /** The entry's own document (its registered file, overlay merged). */
  loaded: LoadedDocument
  /** The tables merged into it, child first: a section and its bases; for a wrapper, its own table. */
  layers: readonly Layer[]
  /** A wrapper's `[global]` and the pool wrappers' `[global]` it inherits, child first. */
  globalLayers?: readonly Layer[]
  /** Values that failed validation and were replaced by their defaults, by `pathKey` of their validation path. */
  replaced: ReadonlySet<string>
}

/**
 * Kept beside the resolved, frozen entries rather than in them (they stay plain JSON values): keyed by the entry
 * object, which a reload reuses exactly as long as nothing it was made from changed, so the entry stays right for it.
 */
const origins = new WeakMap<object, Origins>()

export function recordOrigins(entry: object, known: Origins): void {
  origins.set(entry, known)
}

export function originsOf(entry: object): Origins | undefined {
  return origins.get(entry)
}

/** True when the value at `path`, or a table holding it, was replaced by its default. */
export function wasReplaced(known: Origins, path: KeyPath): boolean {
  if (known.replaced.size === 0) return false
  for (let length = 1; length <= path.length; length++)
    if (known.replaced.has(pathKey(path.slice(0, length)))) return true
  return false
}
