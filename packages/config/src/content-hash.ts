import { createHash } from 'node:crypto'
import type { LoadedDocument } from './document'
import type { ResolutionCache } from './resolution-cache'
import type { SourceFile } from './source-files'

/**
 * SHA-256 of every file read (paths and texts, in a stable order), the environment overlay and the values of the
 * variables injected: equal hashes, equal configurations.
 */
export function contentHash(
  documents: Iterable<LoadedDocument>,
  environment: string | undefined,
  cache: ResolutionCache,
): string {
  const hash = createHash('sha256')
  hash.update(`environment:${environment ?? ''}\n`)
  const sources = new Map<string, SourceFile>()
  const loadedDocuments = [...documents]
  for (const loaded of loadedDocuments) for (const source of loaded.sources) sources.set(source.relative, source)
  for (const relative of [...sources.keys()].sort()) {
    const source = sources.get(relative)!
    hash.update(`${relative}\n`)
    hash.update(cache.perFileDigests ? digest(source, cache) : (source.text ?? ''))
    hash.update('\n')
  }
  // Injected values change the configuration without changing a file.
  const used = new Map<string, string | undefined>()
  for (const loaded of loadedDocuments) for (const [name, value] of loaded.envUsed) used.set(name, value)
  for (const name of [...used.keys()].sort()) hash.update(`env:${name}=${used.get(name) ?? ''}\n`)
  return hash.digest('hex')
}

/** A file's own digest, kept per file (hot reload: a reload then hashes only the files that changed). */
function digest(source: SourceFile, cache: ResolutionCache): string {
  let digest = cache.digests.get(source)
  if (digest === undefined) {
    digest = createHash('sha256')
      .update(source.text ?? '')
      .digest('hex')
    cache.digests.set(source, digest)
  }
  return digest
}
