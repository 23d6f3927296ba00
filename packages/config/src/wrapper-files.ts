import { PoolWrappersFile, type RegistryEntry, TaskGroupWrappersFile } from '@llmpool/schema'
import type { LoadedDocument } from './document'
import { pathKey } from './key-path'
import type { Layer } from './layers'
import { deepMerge } from './merge'
import { recordOrigins } from './origins'
import { ProblemSink } from './problems'
import type { Resolution } from './resolution'
import type { ResolvedWrapper } from './types'
import { isPlainTable, validate } from './validate'

/** An enabled wrappers file, and its kind: a task-group wrappers file when all its wrappers are `task_group`. */
interface WrapperFile {
  loaded: LoadedDocument
  kind: 'pool_wrappers' | 'task_group_wrappers'
  document: Record<string, unknown>
}

function wrapperFiles(resolution: Resolution): WrapperFile[] {
  const files: WrapperFile[] = []
  for (const entry of Object.values(resolution.registry.wrappers) as RegistryEntry[]) {
    if (!entry.enabled || !resolution.insideDirectory(entry.file)) continue
    const loaded = resolution.document(entry.file)
    if (!loaded.document) continue
    const declared = isPlainTable(loaded.document.wrappers) ? Object.values(loaded.document.wrappers) : []
    const allTaskGroups =
      declared.length > 0 && declared.every((wrapper) => isPlainTable(wrapper) && wrapper.type === 'task_group')
    files.push({ loaded, kind: allTaskGroups ? 'task_group_wrappers' : 'pool_wrappers', document: loaded.document })
  }
  return files
}

function globalLayer(file: WrapperFile): Layer {
  return { loaded: file.loaded, at: ['global'], table: isPlainTable(file.document.global) ? file.document.global : {} }
}

function isRegisteredName(resolution: Resolution, name: string): boolean {
  const { pools, task_groups: taskGroups, wrappers } = resolution.registry
  return Object.hasOwn(pools, name) || Object.hasOwn(taskGroups, name) || Object.hasOwn(wrappers, name)
}

/**
 * Wrapper files: each validated as a pool-wrappers or task-group-wrappers file; a task-group wrappers file's
 * `[global]` inherits the pool wrappers' (merged in registry order), its own keys winning. Each enabled wrapper
 * carries the `[global]` that applies to it, and its origins.
 */
export function resolveWrappers(resolution: Resolution): Record<string, ResolvedWrapper> {
  const files = wrapperFiles(resolution)
  // Merged in registry order, so the last pool wrappers file wins: its layer comes first.
  const poolGlobals = files.filter((file) => file.kind === 'pool_wrappers').map(globalLayer)
  const inheritedGlobal = poolGlobals.reduce<unknown>((merged, layer) => deepMerge(merged, layer.table), {})
  poolGlobals.reverse()
  const result: Record<string, ResolvedWrapper> = {}
  const owner = new Map<string, string>()
  for (const file of files) {
    const schema = file.kind === 'pool_wrappers' ? PoolWrappersFile : TaskGroupWrappersFile
    const options = resolution.validation(file.loaded, resolution.unknownKeys)
    const replaced = new Set<string>()
    options.onDefaultUsed = (keyPath) => replaced.add(pathKey(keyPath))
    options.unknownKeyHint = (keyPath, key) =>
      file.kind === 'pool_wrappers' &&
      keyPath.join('.') === 'global' &&
      (key === 'function_calling_enabled' || key === 'tool_selection_strategy')
        ? ': it belongs in a task-group wrappers file (one whose wrappers all have type = "task_group")'
        : undefined
    const checked = validate(schema, file.document, [], options) as
      | { wrappers: Record<string, Record<string, unknown>> }
      | undefined
    if (!checked) continue
    // A task-group wrappers file inherits the pool wrappers' [global]; its own keys win.
    const ownGlobal = isPlainTable(file.document.global) ? file.document.global : {}
    const merged = file.kind === 'task_group_wrappers' ? deepMerge(inheritedGlobal, ownGlobal) : ownGlobal
    const layers = file.kind === 'task_group_wrappers' ? [globalLayer(file), ...poolGlobals] : [globalLayer(file)]
    const globalOptions = resolution.layeredValidation(file.loaded, layers, 'ignore', new ProblemSink())
    globalOptions.onDefaultUsed = options.onDefaultUsed
    const global = validate(schema.properties.global, merged, ['global'], globalOptions)
    // A task-group wrapper in a pool wrappers file gets the task-group settings too, at their defaults.
    let taskGroupGlobal: unknown
    const globalOf = (wrapper: Record<string, unknown>) =>
      file.kind === 'pool_wrappers' && wrapper.type === 'task_group'
        ? (taskGroupGlobal ??= validate(
            TaskGroupWrappersFile.properties.global,
            ownGlobal,
            ['global'],
            resolution.validation(file.loaded, 'ignore', new ProblemSink()),
          ))
        : global
    for (const [name, wrapper] of Object.entries(checked.wrappers)) {
      const other = owner.get(name)
      if (other) {
        resolution.problem(
          file.loaded,
          ['wrappers', name],
          'duplicate_name',
          `wrapper "${name}" is also defined in ${other}`,
        )
        continue
      }
      owner.set(name, file.loaded.file)
      if (isRegisteredName(resolution, name))
        resolution.problem(
          file.loaded,
          ['wrappers', name],
          'duplicate_name',
          `"${name}" is also a registered name; wrapper, pool and task group names must be unique`,
        )
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
