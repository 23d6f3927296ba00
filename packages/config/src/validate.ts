import { CUSTOM_STRATEGY_PATTERN, MODEL_ID_PATTERN, NAME_PATTERN } from '@llmpool/schema'
import { formatPath, type KeyPath } from './key-path'
import { setOwn } from './own'
import { type ConfigProblem, type ConfigProblemCode, ProblemSink } from './problems'
import { isSecretPath, redactUrl } from './secrets'
import { didYouMean } from './suggest'

/** The subset of JSON Schema that the llmpool schemas use. */
interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  patternProperties?: Record<string, JsonSchema>
  items?: JsonSchema
  anyOf?: JsonSchema[]
  enum?: unknown[]
  const?: unknown
  default?: unknown
  minItems?: number
  minProperties?: number
  minLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
}

export interface ValidateOptions {
  /** File the value comes from, relative to the configuration directory. */
  file: (path: KeyPath) => string
  sink: ProblemSink
  /** What an unknown key is: an error (`strict`), a warning (`lenient`), or not reported (checked elsewhere). */
  unknownKeys: 'error' | 'warning' | 'ignore'
  /** `use_defaults_on_failure`: replace an invalid value that has a default by the default, with a warning. */
  useDefaultsOnFailure: boolean
  /** Where a key stands in its file, when that can be told. */
  locate?: (file: string, path: KeyPath) => { line: number; column: number } | undefined
  /** Extra words for an unknown key's message. */
  unknownKeyHint?: (path: KeyPath, key: string) => string | undefined
  /**
   * The variable, when the string at `path` was one `${VAR}` or `${VAR:default}` and nothing else: in a number,
   * integer or boolean field such a string takes the field's type.
   */
  wholeReference?: (path: KeyPath) => string | undefined
  /** Called with the path of each value replaced by its default (`useDefaultsOnFailure`). */
  onDefaultUsed?: (path: KeyPath) => void
}

/** The key path being walked: pushed and popped, copied only when a problem is reported. */
type Path = (string | number)[]

const INVALID: unique symbol = Symbol('invalid')
type Result = unknown | typeof INVALID

const PATTERN_MESSAGES: Record<string, string> = {
  [CUSTOM_STRATEGY_PATTERN]: 'custom:NAME (a strategy registered in code)',
  [MODEL_ID_PATTERN]: 'must be a model id of the form provider:model (e.g. "openai:gpt-4o")',
  [NAME_PATTERN]: 'must be a name of letters, digits, "_" and "-", starting with a letter',
}

const patternCache = new Map<string, RegExp>()
function regex(pattern: string): RegExp {
  let compiled = patternCache.get(pattern)
  if (!compiled) patternCache.set(pattern, (compiled = new RegExp(pattern, 'u')))
  return compiled
}

export function isPlainTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

function describe(value: unknown): string {
  if (typeof value === 'string') value = redactUrl(value)
  if (typeof value === 'string')
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (typeof value === 'object' && value !== null) return 'a table'
  return String(value)
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'a table'
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number'
  return `a ${typeof value}`
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone)
  if (isPlainTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]))
  return value
}

/**
 * Checks `value` against `schema` and returns it with every default filled in. Every problem found goes to the sink;
 * the walk never stops at the first. Returns `undefined` when the value is invalid.
 */
export function validate(schema: unknown, value: unknown, path: KeyPath, options: ValidateOptions): unknown {
  const result = walk(schema as JsonSchema, value, [...path], options)
  return result === INVALID ? undefined : result
}

function report(
  options: ValidateOptions,
  path: KeyPath,
  code: ConfigProblemCode,
  message: string,
  warning = false,
): void {
  path = [...path]
  const file = options.file(path)
  const problem: ConfigProblem = { code, file, path: formatPath(path), message }
  const location = options.locate?.(file, path)
  if (location) Object.assign(problem, location)
  if (warning) options.sink.warn(problem)
  else options.sink.error(problem)
}

function fail(
  schema: JsonSchema,
  path: Path,
  options: ValidateOptions,
  code: ConfigProblemCode,
  message: string,
): Result {
  if (options.useDefaultsOnFailure && schema.default !== undefined) {
    report(
      options,
      path,
      'default_used',
      `${message}; using the default ${JSON.stringify(schema.default)} instead`,
      true,
    )
    options.onDefaultUsed?.([...path])
    return walk(schema, clone(schema.default), path, { ...options, useDefaultsOnFailure: false })
  }
  report(options, path, code, message)
  return INVALID
}

function got(path: KeyPath, value: unknown): string {
  return isSecretPath(path) ? '' : `, got ${describe(value)}`
}

function walk(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  if (schema.anyOf) return walkUnion(schema, value, path, options)
  if (schema.enum) {
    if (schema.enum.includes(value)) return value
    return fail(schema, path, options, 'invalid_value', `must be one of ${schema.enum.join(' | ')}${got(path, value)}`)
  }
  switch (schema.type) {
    case 'object':
      return walkTable(schema, value, path, options)
    case 'array':
      return walkArray(schema, value, path, options)
    case 'string':
      return walkString(schema, value, path, options)
    case 'number':
    case 'integer':
      return walkNumber(schema, value, path, options)
    case 'boolean':
      return walkBoolean(schema, value, path, options)
    default:
      return value
  }
}

function walkString(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  if (typeof value !== 'string')
    return fail(schema, path, options, 'invalid_type', `expected a string, got ${typeName(value)}`)
  if (schema.const !== undefined && value !== schema.const)
    return fail(schema, path, options, 'invalid_value', `must be ${JSON.stringify(schema.const)}${got(path, value)}`)
  if (schema.minLength !== undefined && value.length < schema.minLength)
    return fail(schema, path, options, 'invalid_value', 'must not be empty')
  if (schema.pattern !== undefined && !regex(schema.pattern).test(value)) {
    const message = PATTERN_MESSAGES[schema.pattern] ?? `must match /${schema.pattern}/`
    return fail(schema, path, options, 'invalid_value', `${message}${got(path, value)}`)
  }
  return value
}

/** A decimal number as TOML writes one: `10`, `-2`, `16.67`, `1e3`. */
const NUMBER = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** `${NAME} is "ten"`, or, for a secret, only the variable. */
function spelled(variable: string, path: KeyPath, text: string): string {
  return isSecretPath(path) ? `\${${variable}}` : `\${${variable}} is ${describe(text)}`
}

function walkNumber(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  const integer = schema.type === 'integer'
  const expected = integer ? 'an integer' : 'a number'
  let from = ''
  if (typeof value === 'string') {
    // `concurrency_limit = "${MAX_CONCURRENCY:10}"`: a whole reference takes the field's type.
    const variable = options.wholeReference?.(path)
    if (variable !== undefined) {
      if (!NUMBER.test(value))
        return fail(schema, path, options, 'invalid_type', `expected ${expected}: ${spelled(variable, path, value)}`)
      const text = value
      value = Number(text)
      if (integer && !Number.isInteger(value))
        return fail(schema, path, options, 'invalid_value', `must be a whole number: ${spelled(variable, path, text)}`)
      from = ` (from \${${variable}})`
    }
  }
  if (typeof value !== 'number')
    return fail(schema, path, options, 'invalid_type', `expected ${expected}, got ${typeName(value)}`)
  if (!Number.isFinite(value))
    return fail(schema, path, options, 'invalid_value', `must be a finite number${got(path, value)}${from}`)
  if (integer && !Number.isInteger(value))
    return fail(schema, path, options, 'invalid_value', `must be a whole number${got(path, value)}`)
  if (schema.exclusiveMinimum !== undefined && !(value > schema.exclusiveMinimum))
    return fail(
      schema,
      path,
      options,
      'invalid_value',
      `must be greater than ${schema.exclusiveMinimum}${got(path, value)}${from}`,
    )
  if (schema.minimum !== undefined && value < schema.minimum)
    return fail(schema, path, options, 'invalid_value', `must be at least ${schema.minimum}${got(path, value)}${from}`)
  if (schema.maximum !== undefined && value > schema.maximum)
    return fail(schema, path, options, 'invalid_value', `must be at most ${schema.maximum}${got(path, value)}${from}`)
  return value
}

function walkBoolean(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') {
    // `enabled = "${FLAG:true}"`: a whole reference takes the field's type; exactly `true` or `false`.
    const variable = options.wholeReference?.(path)
    if (variable !== undefined) {
      if (value === 'true' || value === 'false') return value === 'true'
      return fail(schema, path, options, 'invalid_type', `expected true or false: ${spelled(variable, path, value)}`)
    }
  }
  return fail(schema, path, options, 'invalid_type', `expected true or false${got(path, value)}`)
}

function walkArray(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  if (!Array.isArray(value))
    return fail(schema, path, options, 'invalid_type', `expected an array, got ${typeName(value)}`)
  if (schema.minItems !== undefined && value.length < schema.minItems)
    return fail(
      schema,
      path,
      options,
      'invalid_value',
      `must list at least ${schema.minItems} item${schema.minItems > 1 ? 's' : ''}`,
    )
  let invalid = false
  const result = value.map((item, index) => {
    if (!schema.items) return item
    path.push(index)
    const checked = walk(schema.items, item, path, options)
    path.pop()
    if (checked === INVALID) invalid = true
    return checked
  })
  return invalid ? INVALID : result
}

const keyPatterns = new WeakMap<JsonSchema, [string, JsonSchema] | undefined>()

/** The `[keyPattern, valueSchema]` of a record schema, computed once per schema. */
function keyPattern(schema: JsonSchema): [string, JsonSchema] | undefined {
  if (!schema.patternProperties) return undefined
  if (!keyPatterns.has(schema)) keyPatterns.set(schema, Object.entries(schema.patternProperties)[0])
  return keyPatterns.get(schema)
}

function walkTable(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  if (!isPlainTable(value))
    return fail(schema, path, options, 'invalid_type', `expected a table, got ${typeName(value)}`)
  const properties = schema.properties ?? {}
  const required = schema.required ?? []
  const result: Record<string, unknown> = {}
  let invalid = false
  for (const key in properties) {
    const propertySchema = properties[key]!
    const present = Object.hasOwn(value, key)
    if (!present && propertySchema.default === undefined && !required.includes(key)) continue
    let checked: Result
    path.push(key)
    if (present) checked = walk(propertySchema, value[key], path, options)
    else if (propertySchema.default !== undefined)
      checked = walk(propertySchema, clone(propertySchema.default), path, options)
    else if (required.includes(key)) {
      report(options, path, 'missing_key', `required key "${key}" is missing`)
      checked = INVALID
    } else checked = undefined
    path.pop()
    if (checked === INVALID) invalid = true
    else if (checked !== undefined || present) result[key] = checked
  }
  const pattern = keyPattern(schema)
  for (const key in value) {
    if (Object.hasOwn(properties, key)) continue
    const item = value[key]
    path.push(key)
    if (pattern) {
      const [keyPattern, itemSchema] = pattern
      if (!regex(keyPattern).test(key)) {
        const message = PATTERN_MESSAGES[keyPattern] ?? `must match /${keyPattern}/`
        report(options, path, 'invalid_value', `the name ${JSON.stringify(key)} ${message}`)
        invalid = true
      } else {
        const checked = walk(itemSchema, item, path, options)
        if (checked === INVALID) invalid = true
        else setOwn(result, key, checked)
      }
    } else if (options.unknownKeys !== 'ignore') {
      const hint = options.unknownKeyHint?.(path.slice(0, -1), key) ?? didYouMean(key, Object.keys(properties))
      report(options, path, 'unknown_key', `unknown key "${key}"${hint}`, options.unknownKeys === 'warning')
      if (options.unknownKeys === 'error') invalid = true
    }
    path.pop()
  }
  if (schema.minProperties !== undefined && Object.keys(result).length < schema.minProperties && !invalid)
    return fail(
      schema,
      path,
      options,
      'invalid_value',
      `must define at least ${schema.minProperties} entr${schema.minProperties > 1 ? 'ies' : 'y'}`,
    )
  return invalid ? INVALID : result
}

function walkUnion(schema: JsonSchema, value: unknown, path: Path, options: ValidateOptions): Result {
  const branches = schema.anyOf ?? []
  const discriminants = branches.map((branch) => branch.properties?.type?.const) as unknown[]
  if (discriminants.every((tag) => typeof tag === 'string')) {
    if (!isPlainTable(value))
      return fail(schema, path, options, 'invalid_type', `expected a table, got ${typeName(value)}`)
    const index = discriminants.indexOf(value.type as string)
    if (index === -1) {
      if (!('type' in value)) {
        report(
          options,
          [...path, 'type'],
          'missing_key',
          `required key "type" is missing (one of ${discriminants.join(' | ')})`,
        )
        return INVALID
      }
      report(
        options,
        [...path, 'type'],
        'invalid_value',
        `must be one of ${discriminants.join(' | ')}${got([...path, 'type'], value.type)}`,
      )
      return INVALID
    }
    return walk(branches[index]!, value, path, options)
  }
  // Other unions (an enumeration or a pattern): the first branch that accepts the value, checked silently.
  for (const branch of branches) {
    const silent = { ...options, sink: new ProblemSink(), useDefaultsOnFailure: false, locate: undefined }
    const checked = walk(branch, value, path, silent)
    if (checked !== INVALID && silent.sink.ok) return checked
  }
  const forms = branches.map((branch) =>
    branch.enum
      ? branch.enum.join(' | ')
      : branch.pattern
        ? (PATTERN_MESSAGES[branch.pattern] ?? `/${branch.pattern}/`)
        : (branch.type ?? 'a value'),
  )
  return fail(schema, path, options, 'invalid_value', `must be one of ${forms.join(', or ')}${got(path, value)}`)
}
