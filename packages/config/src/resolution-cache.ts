import type { RegistryFile } from '@llmpool/schema'
import type { LoadedDocument } from './document'
import type { ConfigProblem } from './problems'
import type { SourceFile } from './source-files'

/** What resolving a section read: documents by file, and registered bases looked up (`kind:name` → file). */
export interface SectionReads {
  documents: Map<string, LoadedDocument>
  bases: Map<string, string>
}

/** A resolved section as the next resolution may reuse it. */
export interface CachedSection extends SectionReads {
  /** Settings it was resolved under. */
  settings: string
  value: Record<string, unknown> | undefined
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
}

/**
 * What one resolution keeps for the next (hot reload): documents whose files and variables did not change are not
 * injected again, and sections whose documents did not change are not resolved again: the next configuration holds
 * the very same frozen objects, so the diff and the router see them as unchanged by identity.
 */
export class ResolutionCache {
  readonly documents = new Map<
    string,
    { base: SourceFile; overlay: SourceFile | undefined; loaded: LoadedDocument; problems: ConfigProblem[] }
  >()
  readonly sections = new Map<string, CachedSection>()
  readonly digests = new WeakMap<SourceFile, string>()
  /**
   * Keep a digest per file (hot reload: a reload then hashes only the files that changed). A one-shot load hashes
   * the texts directly instead: no digest per file to make and keep.
   */
  constructor(readonly perFileDigests = false) {}
  /** The validated registry of a registry document, with its problems. */
  registry:
    | {
        loaded: LoadedDocument
        validation: string | undefined
        registry: RegistryFile
        errors: ConfigProblem[]
        warnings: ConfigProblem[]
      }
    | undefined
  /** Whether a registered path stays inside the directory, by path. */
  readonly inside = new Map<string, boolean>()
}
