import type { TSchema } from 'typebox'
import { PoolFile, POOL_KEY_ALIASES } from './pool'
import { RegistryFile } from './registry'
import { TaskGroupFile } from './task-group'
import { PoolWrappersFile, TaskGroupWrappersFile } from './wrappers'

/** The five kinds of configuration file. */
export const FILE_KINDS = ['registry', 'pool', 'task_group', 'pool_wrappers', 'task_group_wrappers'] as const
export type FileKind = (typeof FILE_KINDS)[number]

/** The TypeBox schema of each file kind, in its resolved form (every default present). */
export const fileSchemas: Record<FileKind, TSchema> = {
  registry: RegistryFile,
  pool: PoolFile,
  task_group: TaskGroupFile,
  pool_wrappers: PoolWrappersFile,
  task_group_wrappers: TaskGroupWrappersFile,
}

/** File name `llmpool schema` writes for each kind. */
export const jsonSchemaFileNames: Record<FileKind, string> = {
  registry: 'registry.schema.json',
  pool: 'pool.schema.json',
  task_group: 'task-group.schema.json',
  pool_wrappers: 'pool-wrappers.schema.json',
  task_group_wrappers: 'task-group-wrappers.schema.json',
}

type JsonObject = { [key: string]: unknown }

/** A string that is one `${VAR}` or `${VAR:default}` and nothing else (as `@llmpool/config` reads it). */
const WHOLE_ENV_REFERENCE_PATTERN = '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:[^}]*)?\\}$'

const TYPE_WORDS: Record<string, string> = { number: 'a number', integer: 'an integer', boolean: 'a boolean' }

/**
 * A number, integer or boolean key may also hold one `"${VAR:default}"` string, which takes the key's type when it is
 * injected (docs/configuration.md): an editor must accept it. The description and default stay on top, for hovers.
 */
function orEnvReference(node: JsonObject): JsonObject {
  const { description, default: defaultValue, ...value } = node
  const reference = {
    type: 'string',
    pattern: WHOLE_ENV_REFERENCE_PATTERN,
    description: `"\${VAR}" or "\${VAR:default}": the variable's value, read as ${TYPE_WORDS[node.type as string]}`,
  }
  return {
    ...(description === undefined ? {} : { description }),
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    anyOf: [value, reference],
  }
}

/** In a file, a key with a default may be left out: only keys without one stay required; typed keys take `${VAR}`. */
function toInputForm(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toInputForm)
  if (typeof node !== 'object' || node === null) return node
  if (typeof (node as JsonObject).type === 'string' && Object.hasOwn(TYPE_WORDS, (node as JsonObject).type as string))
    return orEnvReference(node as JsonObject)
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(node)) result[key] = toInputForm(value)
  const properties = result.properties as Record<string, JsonObject> | undefined
  if (Array.isArray(result.required) && properties) {
    const required = (result.required as string[]).filter((key) => properties[key]?.default === undefined)
    if (required.length > 0) result.required = required
    else delete result.required
  }
  return result
}

/**
 * A JSON Schema (draft 2020-12) for one kind of file, as written (keys with defaults optional), for editors such as
 * taplo (`#:schema ../.schemas/pool.schema.json` on the first line of a TOML file).
 */
export function toJsonSchema(kind: FileKind): JsonObject {
  const schema = toInputForm(JSON.parse(JSON.stringify(fileSchemas[kind]))) as JsonObject
  if (kind === 'pool') {
    const pool = (schema.properties as Record<string, JsonObject>).pool as JsonObject
    const properties = pool.properties as JsonObject
    for (const [alias, target] of Object.entries(POOL_KEY_ALIASES)) {
      properties[alias] = orEnvReference({
        type: 'number',
        exclusiveMinimum: 0,
        description: `Alias of \`${target}\`.`,
      })
    }
    // `inherits_from` lets a pool leave out what its base provides.
    delete pool.required
  }
  if (kind === 'task_group') delete ((schema.properties as JsonObject).task_group as JsonObject).required
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema }
}
