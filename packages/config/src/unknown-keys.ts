import type { KeyPath } from './key-path'
import { isPlainTable } from './validate'
import { didYouMean } from './suggest'

interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  patternProperties?: Record<string, JsonSchema>
  items?: JsonSchema
  anyOf?: JsonSchema[]
}

export interface UnknownKey {
  path: KeyPath
  key: string
  /** ` (did you mean "x"?)`, or empty. */
  suggestion: string
}

/**
 * Keys that the schema does not know, found where they are written (before inheritance merges tables). Only walks
 * the structure: types, ranges and the rest are checked once, on the merged table.
 */
export function findUnknownKeys(schema: unknown, value: unknown, path: KeyPath): UnknownKey[] {
  const found: UnknownKey[] = []
  walk(schema as JsonSchema, value, [...path], found)
  return found
}

function walk(schema: JsonSchema, value: unknown, path: (string | number)[], found: UnknownKey[]): void {
  if (schema.anyOf) {
    if (!isPlainTable(value)) return
    const branch = schema.anyOf.find(
      (candidate) => (candidate.properties?.type as { const?: unknown } | undefined)?.const === value.type,
    )
    if (branch) walk(branch, value, path, found)
    return
  }
  if (schema.type === 'array' && schema.items && Array.isArray(value)) {
    value.forEach((item, index) => {
      path.push(index)
      walk(schema.items!, item, path, found)
      path.pop()
    })
    return
  }
  if (schema.type !== 'object' || !isPlainTable(value)) return
  const properties = schema.properties ?? {}
  const pattern = schema.patternProperties && Object.values(schema.patternProperties)[0]
  for (const key in value) {
    const child = (Object.hasOwn(properties, key) ? properties[key] : undefined) ?? pattern
    if (!child) {
      found.push({ path: [...path, key], key, suggestion: didYouMean(key, Object.keys(properties)) })
      continue
    }
    path.push(key)
    walk(child, value[key], path, found)
    path.pop()
  }
}
