/** The subset of a TypeBox / JSON Schema object that carries defaults. */
interface WithDefaults {
  type?: unknown
  default?: unknown
  properties?: Record<string, WithDefaults>
}

/**
 * The value the schema's defaults make of an empty table: every key with a `default`, tables with a default of `{}`
 * filled in the same way. The one source of the documented defaults: code that needs a default reads it from here,
 * so the JSON Schemas, the docs and the runtime cannot disagree.
 */
export function schemaDefaults<T>(schema: unknown): T {
  const node = schema as WithDefaults
  const result: Record<string, unknown> = {}
  for (const [key, property] of Object.entries(node.properties ?? {})) {
    if (property.default === undefined) continue
    const value = property.default
    result[key] =
      property.properties &&
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.keys(value).length === 0
        ? schemaDefaults(property)
        : structuredClone(value)
  }
  return result as T
}
