import type { Pool, RegistryGlobal, TaskGroup } from '@llmpool/schema'
import { contentHash } from './content-hash'
import { freezeConfig } from './freeze'
import type { KeyPath } from './key-path'
import { checkNoEffect } from './no-effect'
import type { ConfigProblem, ConfigProblemCode } from './problems'
import { checkReferences } from './references'
import { resolveRegistry } from './registry-rules'
import { REGISTRY_FILE, Resolution, type ResolveOptions } from './resolution'
import { ResolutionCache } from './resolution-cache'
import { REGISTRY_SECTION } from './section-kind'
import { resolveSection } from './sections'
import type { SourceFiles } from './source-files'
import type { ResolvedConfig } from './types'
import { isPlainTable } from './validate'
import { resolveWrappers } from './wrapper-files'

export interface ResolveResult {
  config: ResolvedConfig | undefined
  errors: ConfigProblem[]
  warnings: ConfigProblem[]
  /** The registry's `[global]`, when the registry could be read (hot reload needs it even when the rest fails). */
  settings: RegistryGlobal | undefined
}

/**
 * Runs the whole loading pipeline once: the registry, every enabled pool and task group (inheritance, validation,
 * section rules), the wrapper files, references across all of them, `no_effect` warnings, and one frozen
 * configuration. Never throws for a problem of the configuration: it returns problems. Pass the cache of the
 * previous run to reuse what did not change.
 */
export function resolveConfiguration(
  files: SourceFiles,
  options: ResolveOptions,
  cache = new ResolutionCache(),
): ResolveResult {
  const resolution = new Resolution(files, options, cache)
  const result = (config: ResolvedConfig | undefined, settings: RegistryGlobal | undefined): ResolveResult => ({
    config,
    errors: [...resolution.documentProblems, ...resolution.sink.errors],
    warnings: resolution.sink.warnings,
    settings,
  })
  // Without the directory every file would be "not found": say what is missing once.
  const missing = files.directoryProblem()
  if (missing) return { config: undefined, errors: [missing], warnings: [], settings: undefined }
  const registryDocument = resolution.document(REGISTRY_FILE)
  if (!registryDocument.document) return result(undefined, undefined)
  const registry = resolveRegistry(resolution, registryDocument)

  const pools: Record<string, Pool> = {}
  const taskGroups: Record<string, TaskGroup> = {}
  for (const kind of ['task_group', 'pool'] as const) {
    const target: Record<string, unknown> = kind === 'pool' ? pools : taskGroups
    for (const [name, entry] of Object.entries(registry[REGISTRY_SECTION[kind]])) {
      if (!entry.enabled || !resolution.insideDirectory(entry.file)) continue
      const section = resolveSection(resolution, kind, name)
      if (section) target[name] = section
    }
  }
  const wrappers = resolveWrappers(resolution)
  checkReferences({
    registry,
    pools,
    taskGroups,
    wrappers,
    report: (kind, name, keyPath, code, message) => referenceProblem(resolution, kind, name, keyPath, code, message),
  })
  checkNoEffect({ pools, taskGroups }, (written, keyPath, message) =>
    resolution.problem(written.loaded, written.path, 'no_effect', message, true, keyPath),
  )
  if (!resolution.sink.ok || resolution.documentProblems.length > 0) return result(undefined, registry.global)

  const sourceFiles = {
    pools: {} as Record<string, string>,
    task_groups: {} as Record<string, string>,
    wrappers: {} as Record<string, string>,
  }
  for (const name of Object.keys(pools)) sourceFiles.pools[name] = registry.pools[name]!.file
  for (const name of Object.keys(taskGroups)) sourceFiles.task_groups[name] = registry.task_groups[name]!.file
  for (const [name, wrapper] of Object.entries(wrappers)) sourceFiles.wrappers[name] = wrapper.file
  const config = freezeConfig({
    registry,
    pools,
    task_groups: taskGroups,
    wrappers,
    source: {
      directory: files.directory,
      environment: options.environment,
      hash: contentHash(resolution.documents.values(), options.environment, cache),
      files: sourceFiles,
    },
  })
  return result(config, registry.global)
}

/** A reference problem, in the file of the entry that holds the reference. */
function referenceProblem(
  resolution: Resolution,
  kind: 'pool' | 'task_group' | 'wrapper' | 'registry',
  name: string,
  keyPath: KeyPath,
  code: ConfigProblemCode,
  message: string,
): void {
  let file: string
  if (kind === 'registry') file = REGISTRY_FILE
  else if (kind === 'wrapper') file = wrapperFileOf(resolution, name)
  else file = resolution.registry[REGISTRY_SECTION[kind]][name]!.file
  resolution.problem(resolution.document(file), keyPath, code, message)
}

function wrapperFileOf(resolution: Resolution, name: string): string {
  for (const entry of Object.values(resolution.registry.wrappers)) {
    const wrappers = resolution.documents.get(entry.file)?.document?.wrappers
    if (isPlainTable(wrappers) && Object.hasOwn(wrappers, name)) return entry.file
  }
  return REGISTRY_FILE
}
