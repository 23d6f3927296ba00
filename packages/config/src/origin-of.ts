import { formatPath, type KeyPath } from './key-path'
import { type Written, writtenAt } from './layers'
import { getOwn } from './own'
import { originsOf, wasReplaced } from './origins'
import type { ResolvedConfig } from './types'
import { isPlainTable } from './validate'

/**
 * Where a resolved value came from: the file (relative to the configuration directory) and line that wrote it, or
 * the schema's default (for an echelon's `priority`: its position in the file).
 */
export type ValueOrigin = { file: string; line?: number } | { default: true }

const SECTIONS = { pool: 'pools', task_group: 'task_groups', wrapper: 'wrappers' } as const
const KIND_WORD = { pool: 'pool', task_group: 'task group', wrapper: 'wrapper' } as const

/** `fallback_strategy` and `fallback.strategy` are one setting: either may have written the other. */
function sameSetting(path: KeyPath): KeyPath | undefined {
  if (path.length === 1 && path[0] === 'fallback_strategy') return ['fallback', 'strategy']
  if (path.length === 2 && path[0] === 'fallback' && path[1] === 'strategy') return ['fallback_strategy']
  return undefined
}

/** `path` with array positions as numbers, checked against the resolved value; undefined when it names no value. */
function resolvedPath(entry: unknown, path: readonly string[]): KeyPath | undefined {
  const result: (string | number)[] = []
  let node = entry
  for (const segment of path) {
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(segment) && Number(segment) < node.length) {
      result.push(Number(segment))
      node = node[Number(segment)]
    } else if (isPlainTable(node) && Object.hasOwn(node, segment)) {
      result.push(segment)
      node = node[segment]
    } else return undefined
  }
  return result
}

/** The file (the overlay, when it sets the key) and the line of a written key. */
function writer({ loaded, path }: Written): ValueOrigin {
  const file = loaded.fileOf(path)
  const line = loaded.locate(file, path)?.line
  return line === undefined ? { file } : { file, line }
}

/**
 * Where the value at `path` of a pool, task group or wrapper of `config` came from: the file and line that wrote it —
 * through `inherits_from` (a base table, another registered entry) and environment overlays (`x.production.toml`),
 * and, for a wrapper's `['global', ...]`, the pool wrappers file whose `[global]` a task-group wrappers file
 * inherited — or `{ default: true }` when the schema's default (or an echelon's position, for `priority`) filled it
 * in, also when `use_defaults_on_failure` replaced an invalid value. `path` is relative to the `[pool]` /
 * `[task_group]` table or to the wrapper (`['echelons', 'echelon1', 'timeout']`, `['global', 'default_timeout']`;
 * array positions as `'0'`). Throws a `RangeError` for a name the configuration does not hold, a path that names no
 * value in it, or a configuration that `@llmpool/config` did not load.
 */
export function originOf(
  config: ResolvedConfig,
  section: 'pool' | 'task_group' | 'wrapper',
  name: string,
  path: readonly string[],
): ValueOrigin {
  const entries =
    SECTIONS[section] === undefined ? undefined : (config[SECTIONS[section]] as Readonly<Record<string, object>>)
  const entry = entries ? getOwn(entries, name) : undefined
  if (entry === undefined)
    throw new RangeError(`originOf: the configuration has no ${KIND_WORD[section] ?? String(section)} named "${name}"`)
  const known = originsOf(entry)
  if (!known)
    throw new RangeError(
      `originOf: ${KIND_WORD[section]} "${name}" was not loaded by @llmpool/config (no origins are known)`,
    )
  const keyPath = resolvedPath(entry, path)
  if (!keyPath)
    throw new RangeError(
      `originOf: ${KIND_WORD[section]} "${name}" has no value at ${formatPath(path) || '(the entry itself)'}`,
    )

  if (section === 'wrapper') {
    if (keyPath[0] === 'global') {
      if (wasReplaced(known, keyPath)) return { default: true }
      const written = writtenAt(known.globalLayers ?? [], keyPath.slice(1))
      return written ? writer(written) : { default: true }
    }
    // `file` is where the wrapper is declared.
    const own = keyPath[0] === 'file' ? [] : keyPath
    if (wasReplaced(known, ['wrappers', name, ...own])) return { default: true }
    const written = writtenAt(known.layers, own)
    return written ? writer(written) : { default: true }
  }

  if (wasReplaced(known, [section, ...keyPath])) return { default: true }
  const same = sameSetting(keyPath)
  const written =
    writtenAt(known.layers, keyPath) ??
    (same && !wasReplaced(known, [section, ...same]) ? writtenAt(known.layers, same) : undefined)
  return written ? writer(written) : { default: true }
}
