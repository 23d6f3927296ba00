import { injectEnv } from './env'
import { formatPath, type KeyPath, pathKey } from './key-path'
import { deepMerge, hasPath } from './merge'
import type { ConfigProblem } from './problems'
import type { SourceFile, SourceFiles } from './source-files'

/** A registered file after overlay and env injection: the document the rest of the pipeline works on. */
export interface LoadedDocument {
  /** The base file, relative to the configuration directory. */
  file: string
  /** The overlay merged over it, if any (`pools/fast-pool.production.toml`). */
  overlay?: string
  /** The merged, env-injected document; undefined when the file could not be read or parsed. */
  document: Record<string, unknown> | undefined
  /** Which file a key path comes from: the overlay when it sets that key, else the base file. */
  fileOf(path: KeyPath): string
  /** Where a key stands in the file that sets it. */
  locate(file: string, path: KeyPath): { line: number; column: number } | undefined
  /** Variables read by `${VAR}` references, and their values. */
  envUsed: Map<string, string | undefined>
  /**
   * The variable, when the string at `path` was one `${VAR}` or `${VAR:default}` and nothing else: such a value takes
   * the type of a number, integer or boolean field.
   */
  wholeReference(path: KeyPath): string | undefined
  /** Texts it was made from, for the content hash. */
  sources: SourceFile[]
}

const noReference = (): undefined => undefined

/** `pools/fast-pool.toml` + `production` → `pools/fast-pool.production.toml`. */
export function overlayPath(file: string, environment: string): string {
  const dot = file.lastIndexOf('.')
  const slash = file.lastIndexOf('/')
  return dot > slash ? `${file.slice(0, dot)}.${environment}${file.slice(dot)}` : `${file}.${environment}`
}

/** Merges a file and its environment overlay (both already read), and injects environment variables. */
export function buildDocument(
  file: string,
  base: SourceFile,
  overlay: SourceFile | undefined,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): LoadedDocument {
  problems.push(...base.problems)
  const sources = [base]
  if (overlay) {
    problems.push(...overlay.problems)
    sources.push(overlay)
  }
  const fileOf = (path: KeyPath) => (overlay?.document && hasPath(overlay.document, path) ? overlay.relative : file)
  const locate = (relative: string, path: KeyPath) => (relative === overlay?.relative ? overlay : base).locate(path)
  const loaded: LoadedDocument = {
    file,
    overlay: overlay?.relative,
    document: undefined,
    fileOf,
    locate,
    envUsed: new Map(),
    wholeReference: noReference,
    sources,
  }
  if (!base.document || (overlay && !overlay.document)) return loaded
  const merged = overlay ? deepMerge(base.document, overlay.document) : base.document
  // Most files use no variable at all: skip the walk.
  if (!sources.some((source) => source.text?.includes('${'))) {
    loaded.document = merged as Record<string, unknown>
    return loaded
  }
  const injection = injectEnv(merged, env)
  loaded.envUsed = injection.used
  if (injection.wholeReferences.size > 0) loaded.wholeReference = (path) => injection.wholeReferences.get(pathKey(path))
  for (const problem of injection.problems) {
    const relative = fileOf(problem.path)
    problems.push({ ...problem, file: relative, path: formatPath(problem.path), ...locate(relative, problem.path) })
  }
  loaded.document = injection.value as Record<string, unknown>
  return loaded
}

/** Reads a file and the overlay of `environment`, when one exists. */
export function readWithOverlay(files: SourceFiles, file: string, environment: string | undefined) {
  const base = files.read(file)
  const overlayFile = environment ? overlayPath(file, environment) : undefined
  const overlay = overlayFile && files.exists(overlayFile) ? files.read(overlayFile) : undefined
  return { base, overlay }
}
