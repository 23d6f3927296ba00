import type { LoadedDocument } from './document'
import type { KeyPath } from './key-path'
import { type Layer, type Written, writtenAt } from './layers'

/** What a resolution knows of where the values of one resolved pool or task group were written. */
export interface SectionOrigins {
  kind: 'pool' | 'task_group'
  /** The section's own document (its registered file, overlay merged). */
  loaded: LoadedDocument
  /** The tables merged into it, child first. */
  layers: readonly Layer[]
}

/**
 * Kept beside the resolved, frozen sections rather than in them (they stay plain JSON): keyed by the section object,
 * which a reload reuses as long as nothing it was made from changed, so the entry stays right for it.
 */
const sections = new WeakMap<object, SectionOrigins>()

export function recordSectionOrigins(section: object, origins: SectionOrigins): void {
  sections.set(section, origins)
}

export function sectionOriginsOf(section: object): SectionOrigins | undefined {
  return sections.get(section)
}

/** Where the value at `path` (inside the section table) was written, or undefined when no table wrote it. */
export function writtenInSection(origins: SectionOrigins, path: KeyPath): Written | undefined {
  return writtenAt(origins.layers, path)
}
