import { setOwn } from './own'
import { isPlainTable } from './validate'

/** Deep merge for inheritance and overlays: tables merge key by key, the override wins, arrays replace. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainTable(base) || !isPlainTable(override)) return override
  const result: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(override)) {
    setOwn(result, key, Object.hasOwn(base, key) ? deepMerge(base[key], value) : value)
  }
  return result
}

/** True when `path` names a key present in `document`. */
export function hasPath(document: unknown, path: readonly (string | number)[]): boolean {
  let node = document
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment]
    else if (isPlainTable(node) && typeof segment === 'string' && Object.hasOwn(node, segment)) node = node[segment]
    else return false
  }
  return true
}
