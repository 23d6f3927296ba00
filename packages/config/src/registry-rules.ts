import { RegistryFile } from '@llmpool/schema'
import type { LoadedDocument } from './document'
import { setOwn } from './own'
import { ProblemSink } from './problems'
import { REGISTRY_FILE, type Resolution } from './resolution'
import { didYouMean } from './suggest'
import { isPlainTable, validate } from './validate'

/**
 * The registry of this run: validated (or, when its document did not change, taken from the cache with its
 * problems), with its registry-level checks. Sets the run's strictness.
 */
export function resolveRegistry(resolution: Resolution, loaded: LoadedDocument): RegistryFile {
  const { cache, options, sink } = resolution
  const cached = cache.registry
  let registry: RegistryFile
  if (cached && cached.loaded === loaded && cached.validation === options.validation) {
    registry = cached.registry
    for (const error of cached.errors) sink.error(error)
    for (const warning of cached.warnings) sink.warn(warning)
  } else {
    const errorCount = sink.errors.length
    const warningCount = sink.warnings.length
    registry = validateRegistry(resolution, loaded)
    resolution.registry = registry
    checkEntries(resolution)
    const errors = sink.errors.slice(errorCount)
    const warnings = sink.warnings.slice(warningCount)
    cache.registry = { loaded, validation: options.validation, registry, errors, warnings }
  }
  resolution.registry = registry
  resolution.strict = (options.validation ?? registry.global.config_validation) === 'strict'
  return registry
}

/** The registry, section by section, so that one bad section does not hide the problems of the rest. */
function validateRegistry(resolution: Resolution, loaded: LoadedDocument): RegistryFile {
  const document = loaded.document!
  const schema = RegistryFile as unknown as { properties: Record<string, { default?: unknown }> }
  // Strictness comes from the registry itself, so read it first.
  const globalValue = document.global
  const declared = isPlainTable(globalValue) ? globalValue.config_validation : undefined
  resolution.strict = (resolution.options.validation ?? declared ?? 'strict') !== 'lenient'
  const declaredDefaults = isPlainTable(globalValue) ? globalValue.use_defaults_on_failure : undefined
  const useDefaults =
    declaredDefaults === true ||
    (declaredDefaults === 'true' && loaded.wholeReference(['global', 'use_defaults_on_failure']) !== undefined)
  const registry: Record<string, unknown> = {}
  for (const [key, sectionSchema] of Object.entries(schema.properties)) {
    const value = Object.hasOwn(document, key) ? document[key] : sectionSchema.default
    const options = { ...resolution.validation(loaded, resolution.unknownKeys), useDefaultsOnFailure: useDefaults }
    registry[key] =
      validate(sectionSchema, value, [key], options) ?? usableEntries(resolution, sectionSchema, value, key, loaded)
  }
  for (const key of Object.keys(document)) {
    if (!Object.hasOwn(schema.properties, key))
      resolution.problem(
        loaded,
        [key],
        'unknown_key',
        `unknown key "${key}"${didYouMean(key, Object.keys(schema.properties))}`,
        !resolution.strict,
      )
  }
  return registry as unknown as RegistryFile
}

/**
 * When a section of entries (`[pools]`, `[dependencies]`, ...) has a problem, which was reported, the entries that
 * are usable on their own are kept, so that one bad entry does not make every reference to the others fail too.
 */
function usableEntries(
  resolution: Resolution,
  sectionSchema: { default?: unknown },
  value: unknown,
  key: string,
  loaded: LoadedDocument,
): unknown {
  const patterns = (sectionSchema as { patternProperties?: Record<string, unknown> }).patternProperties
  const [namePattern, entrySchema] = patterns ? (Object.entries(patterns)[0] ?? []) : []
  if (namePattern === undefined || !isPlainTable(value)) return sectionSchema.default
  const names = new RegExp(namePattern, 'u')
  const entries: Record<string, unknown> = {}
  for (const [name, entry] of Object.entries(value)) {
    if (!names.test(name)) continue
    const checked = validate(
      entrySchema,
      entry,
      [key, name],
      resolution.validation(loaded, 'ignore', new ProblemSink()),
    )
    if (checked !== undefined) setOwn(entries, name, checked)
  }
  return entries
}

/**
 * Registry-level checks: something to route to (an enabled pool or task group), paths stay inside the directory,
 * names are unique across kinds.
 */
function checkEntries(resolution: Resolution): void {
  const registryDocument = resolution.document(REGISTRY_FILE)
  const { pools, task_groups: taskGroups } = resolution.registry
  const enabled = (entries: Readonly<Record<string, { enabled: boolean }>>) =>
    Object.values(entries).some((entry) => entry.enabled)
  if (!enabled(pools) && !enabled(taskGroups)) {
    // An empty or truncated file (a write caught halfway) must never replace a configuration that serves.
    const table = (['pools', 'task_groups'] as const).find((key) => Object.hasOwn(registryDocument.document!, key))
    resolution.problem(
      registryDocument,
      table ? [table] : [],
      'nothing_enabled',
      'declares no enabled pool and no enabled task group: there is nothing to route to (register one under [pools] or [task_groups])',
    )
  }
  const seen = new Map<string, string>()
  for (const section of ['pools', 'task_groups', 'wrappers'] as const) {
    for (const [name, entry] of Object.entries(resolution.registry[section])) {
      if (!resolution.insideDirectory(entry.file))
        resolution.problem(
          registryDocument,
          [section, name, 'file'],
          'path_outside_config_dir',
          `"${entry.file}" leaves the configuration directory; registered files must be inside it`,
        )
      const other = seen.get(name)
      if (other)
        resolution.problem(
          registryDocument,
          [section, name],
          'duplicate_name',
          `"${name}" is also registered under [${other}]; names must be unique across pools, task groups and wrappers`,
        )
      else seen.set(name, section)
    }
  }
}
