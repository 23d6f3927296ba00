/**
 * Writes docs/reference.md, the configuration reference, from the TypeBox schemas of this package: every file kind,
 * every table, every key with its type, default, range, meaning and an example. Run it with `pnpm docs:reference`;
 * `--check` only says whether the file is up to date (test/reference.test.ts fails when it is not).
 *
 * What a key means is its schema's `description`, so an editor's hover (the JSON Schemas of `llmpool schema`) and this
 * page say the same thing. Its example is the value the reference configuration writes (its English copy,
 * docs/examples/llms), else the schema's `examples`: a key that has neither stops the generator.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'smol-toml'
import {
  CUSTOM_STRATEGY_PATTERN,
  FILE_KINDS,
  type FileKind,
  fileSchemas,
  jsonSchemaFileNames,
  MODEL_ID_PATTERN,
  NAME_PATTERN,
  POOL_KEY_ALIASES,
} from '../src/index'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
/** Where the page is written. */
export const REFERENCE_FILE = path.join(ROOT, 'docs', 'reference.md')
/** The English copy of the reference configuration (configs/llms, the design document's own files). */
export const EXAMPLES_DIRECTORY = path.join(ROOT, 'docs', 'examples', 'llms')

/** The subset of JSON Schema the llmpool schemas use. */
interface Node {
  type?: string
  title?: string
  description?: string
  default?: unknown
  examples?: unknown[]
  properties?: Record<string, Node>
  required?: string[]
  patternProperties?: Record<string, Node>
  additionalProperties?: boolean | Node
  anyOf?: Node[]
  enum?: unknown[]
  const?: unknown
  items?: Node
  pattern?: string
  minimum?: number
  exclusiveMinimum?: number
  maximum?: number
  minItems?: number
  minLength?: number
  minProperties?: number
}

/** `NAME` in a key path: any name (a pool's, an echelon's, a wrapper's). */
const ANY = 'NAME'

/** How each file kind is named on the page. */
const KIND_TITLES: Record<FileKind, string> = {
  registry: 'The registry',
  pool: 'Pool files',
  task_group: 'Task-group files',
  pool_wrappers: 'Pool wrappers files',
  task_group_wrappers: 'Task-group wrappers files',
}

const PATTERN_WORDS: Record<string, { type: string; range: string }> = {
  [NAME_PATTERN]: { type: 'name', range: 'letters, digits, `_`, `-`; a letter first' },
  [MODEL_ID_PATTERN]: { type: 'model id', range: '`provider:model`' },
  [CUSTOM_STRATEGY_PATTERN]: { type: '`"custom:NAME"`', range: '' },
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the schemas

/** The object branches of a table: itself, or each member of a union of tables (wrappers, by `type`). */
function tableBranches(node: Node): Node[] {
  if (node.properties) return [node]
  if (node.anyOf && node.anyOf.every((branch) => branch.properties)) return node.anyOf
  return []
}

/** The schema of the values of a table of named entries (`[task_group.echelons.NAME]`), if `node` is one. */
function recordValue(node: Node): Node | undefined {
  const values = node.patternProperties ? Object.values(node.patternProperties) : []
  return values.length === 1 ? values[0] : undefined
}

const isTable = (node: Node) => tableBranches(node).length > 0

/** One table of a file: its key path (`NAME` for any name) and its schema; several paths when they share one. */
interface Section {
  paths: string[][]
  node: Node
  /** A table of named values that are not tables (`[dependencies]`): one row, `NAME`. */
  namedValues?: boolean
}

/** Every table of a file kind, depth first, in schema order. */
function sectionsOf(file: Node): Section[] {
  const sections: Section[] = []
  const add = (node: Node, keyPath: string[], namedValues = false) => {
    const same = sections.find((section) => section.node === node && !namedValues)
    if (same) same.paths.push(keyPath)
    else sections.push({ paths: [keyPath], node, ...(namedValues ? { namedValues } : {}) })
  }
  const visit = (node: Node, keyPath: string[]) => {
    add(node, keyPath)
    for (const branch of tableBranches(node))
      for (const [key, property] of Object.entries(branch.properties ?? {})) {
        const value = recordValue(property)
        if (isTable(property)) visit(property, [...keyPath, key])
        else if (value && isTable(value)) visit(value, [...keyPath, key, ANY])
      }
  }
  for (const [key, property] of Object.entries(file.properties ?? {})) {
    const value = recordValue(property)
    if (isTable(property)) visit(property, [key])
    else if (value && isTable(value)) visit(value, [key, ANY])
    else if (value) add(property, [key], true)
  }
  return sections
}

/** One row of a section: a key, with the schemas of the union branches that have it. */
interface Row {
  key: string
  variants: { node: Node; required: boolean; when?: string }[]
}

function rowsOf(section: Section): Row[] {
  if (section.namedValues) return [{ key: ANY, variants: [{ node: recordValue(section.node)!, required: false }] }]
  const rows: Row[] = []
  const branches = tableBranches(section.node)
  for (const branch of branches) {
    const tag = branch.properties?.type?.const
    for (const [key, node] of Object.entries(branch.properties ?? {})) {
      let row = rows.find((candidate) => candidate.key === key)
      if (!row) rows.push((row = { key, variants: [] }))
      row.variants.push({
        node,
        required: (branch.required ?? []).includes(key) && node.default === undefined,
        ...(branches.length > 1 && typeof tag === 'string' ? { when: tag } : {}),
      })
    }
  }
  return rows
}

// ---------------------------------------------------------------------------------------------------------------
// Words for a key

/** A value as TOML writes it, on one line (an inline table for a table: valid TOML 1.0). */
export function toml(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(toml).join(', ')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
    if (entries.length === 0) return '{}'
    return `{ ${entries.map(([key, item]) => `${/^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key)} = ${toml(item)}`).join(', ')} }`
  }
  return String(value)
}

const code = (text: string) => `\`${text}\``
/** Text for a Markdown table cell: no line breaks, pipes escaped. */
const cell = (text: string) => text.replace(/\n/g, ' ').replace(/\|/g, '\\|')

function typeOf(node: Node): string {
  if (node.anyOf) return node.anyOf.map(typeOf).join(' | ')
  if (node.enum) return node.enum.map((value) => code(JSON.stringify(value))).join(' | ')
  if (node.const !== undefined) return code(JSON.stringify(node.const))
  if (node.pattern !== undefined && PATTERN_WORDS[node.pattern]) return PATTERN_WORDS[node.pattern]!.type
  if (node.type === 'array') return `array of ${node.items ? plural(typeOf(node.items)) : 'values'}`
  if (node.type === 'object') {
    if (node.properties) return 'table'
    const value = recordValue(node)
    if (!value || (value.type === undefined && !value.anyOf)) return 'table of any keys'
    const keyPattern = Object.keys(node.patternProperties ?? {})[0]
    return `table: ${keyPattern === NAME_PATTERN ? 'name' : 'key'} → ${typeOf(value)}`
  }
  return node.type ?? 'value'
}

function plural(type: string): string {
  if (type.includes('|')) return `(${type})`
  return /^(string|name|model id|number|integer|boolean)$/.test(type) ? `${type}s` : type
}

function rangeOf(node: Node): string {
  const parts: string[] = []
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`)
  if (node.minimum !== undefined && node.maximum !== undefined) parts.push(`${node.minimum} to ${node.maximum}`)
  else if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`)
  else if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`)
  if (node.minLength !== undefined && node.pattern === undefined) parts.push('not empty')
  if (node.pattern !== undefined && PATTERN_WORDS[node.pattern]?.range) parts.push(PATTERN_WORDS[node.pattern]!.range)
  if (node.minItems !== undefined) parts.push(`at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}`)
  if (node.minProperties !== undefined)
    parts.push(`at least ${node.minProperties} entr${node.minProperties === 1 ? 'y' : 'ies'}`)
  const inner = node.items ?? (node.type === 'object' && !node.properties ? recordValue(node) : undefined)
  const innerRange = inner && !inner.enum ? rangeOf(inner) : '—'
  if (innerRange !== '—') parts.push(`each ${innerRange}`)
  return parts.length > 0 ? parts.join('; ') : '—'
}

function defaultOf(node: Node, required: boolean): string {
  if (required) return '**required**'
  if (node.default === undefined) return '—'
  if (node.properties) return "its keys' defaults"
  return code(toml(node.default))
}

/** `docs/routing.md` in a description becomes a link (the page is in docs/). */
function linked(text: string): string {
  return text.replace(/docs\/([a-z0-9-]+\.md)/g, '[docs/$1]($1)')
}

const anchor = (kind: FileKind, keyPath: string[]) =>
  `${kind}-${keyPath.join('-')}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
const header = (keyPath: string[]) => code(`[${keyPath.join('.')}]`)

// ---------------------------------------------------------------------------------------------------------------
// Examples: the English copy of the reference configuration

interface ExampleFile {
  file: string
  kind: FileKind
  text: string
  document: Record<string, unknown>
}

function isTableValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The files of the English reference configuration, in registry order, with the kind of each. */
export function exampleFiles(directory = EXAMPLES_DIRECTORY): ExampleFile[] {
  const read = (file: string, kind: FileKind): ExampleFile => {
    const text = readFileSync(path.join(directory, file), 'utf8')
    return { file, kind, text, document: JSON.parse(JSON.stringify(parse(text))) as Record<string, unknown> }
  }
  const registry = read('_registry.toml', 'registry')
  const entries = (table: string) =>
    Object.values((registry.document[table] ?? {}) as Record<string, { file: string }>).map((entry) => entry.file)
  const wrappers = entries('wrappers').map((file) => {
    const onlyGroups = Object.values(
      (read(file, 'pool_wrappers').document.wrappers ?? {}) as Record<string, { type?: string }>,
    )
    const kind: FileKind =
      onlyGroups.length > 0 && onlyGroups.every((wrapper) => wrapper.type === 'task_group')
        ? 'task_group_wrappers'
        : 'pool_wrappers'
    return read(file, kind)
  })
  return [
    registry,
    ...entries('pools').map((file) => read(file, 'pool')),
    ...entries('task_groups').map((file) => read(file, 'task_group')),
    ...wrappers,
  ]
}

/** Every value at `keyPath` (with `NAME` for any key) in `document`, with the key it was found at. */
function valuesAt(document: unknown, keyPath: string[]): [string, unknown][] {
  const [first, ...rest] = keyPath
  if (first === undefined || !isTableValue(document)) return []
  const keys = first === ANY ? Object.keys(document) : Object.hasOwn(document, first) ? [first] : []
  return keys.flatMap((key) =>
    rest.length === 0 ? [[key, document[key]] as [string, unknown]] : valuesAt(document[key], rest),
  )
}

const isEmpty = (value: unknown) =>
  Array.isArray(value) ? value.length === 0 : isTableValue(value) && Object.keys(value).length === 0

/** `key = value` for a key, from the English reference configuration (files of its kind first), else `examples`. */
function exampleOf(kind: FileKind, files: ExampleFile[], keyPath: string[], nodes: Node[]): string {
  const ordered = [...files.filter((file) => file.kind === kind), ...files.filter((file) => file.kind !== kind)]
  const found = ordered.flatMap((file) => valuesAt(file.document, keyPath))
  const chosen = found.find(([, value]) => !isEmpty(value)) ?? found[0]
  if (chosen) return code(`${tomlKey(chosen[0])} = ${toml(chosen[1])}`)
  const annotated = nodes.find((node) => node.examples !== undefined)?.examples?.[0]
  if (annotated !== undefined) return code(`${tomlKey(keyPath.at(-1)!)} = ${toml(annotated)}`)
  throw new Error(
    `${kind} ${keyPath.join('.')}: no example; the reference configuration does not write it: add \`examples\` to its schema`,
  )
}

const tomlKey = (key: string) => (/^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key))

// ---------------------------------------------------------------------------------------------------------------
// The page

function sectionText(kind: FileKind, section: Section, files: ExampleFile[], sections: Section[]): string {
  const keyPath = section.paths[0]!
  const lines = [
    section.paths.map((p) => `<a id="${anchor(kind, p)}"></a>`).join(''),
    '',
    `### ${section.paths.map(header).join(', ')}`,
    '',
  ]
  if (section.node.description) lines.push(linked(section.node.description), '')
  if (keyPath.length === 2 && keyPath[1] === ANY && !section.namedValues) {
    // `[pools.NAME]`, `[wrappers.NAME]`: the document writes each entry on one line of its parent table.
    const [name, value] =
      files.filter((file) => file.kind === kind).flatMap((file) => valuesAt(file.document, keyPath))[0] ?? []
    if (name !== undefined)
      lines.push(
        `Each entry is a table, often written on one line of ${header(keyPath.slice(0, 1))}: ${code(`${tomlKey(name)} = ${toml(value)}`)}. ${header([keyPath[0]!, name])} with its keys on the lines below is the same.`,
        '',
      )
  }
  lines.push('| key | type | default | range | meaning | example |', '| --- | --- | --- | --- | --- | --- |')
  for (const row of rowsOf(section)) {
    const nodes = row.variants.map((variant) => variant.node)
    const node = nodes[0]!
    const sameEverywhere = row.variants.length === tableBranches(section.node).length || section.namedValues
    const when = sameEverywhere
      ? ''
      : `With ${row.variants.map((variant) => code(`type = "${variant.when}"`)).join(' or ')}: `
    const child = sections.find(
      (candidate) =>
        candidate !== section &&
        candidate.paths.some(
          (p) =>
            p.join('.') === [...keyPath, row.key].join('.') || p.join('.') === [...keyPath, row.key, ANY].join('.'),
        ),
    )
    const type =
      nodes.length > 1 && nodes.every((item) => item.const !== undefined) ? nodes.map(typeOf).join(' | ') : typeOf(node)
    const description = node.description ?? ''
    const meaning =
      nodes.length > 1 && nodes.every((item) => item.const !== undefined)
        ? nodes.map((item) => item.description ?? '').join(' ')
        : when === ''
          ? description
          : `${when}${description.charAt(0).toLowerCase()}${description.slice(1)}`
    const childPath = child
      ? child.paths.find((p) => p.slice(0, keyPath.length).join('.') === keyPath.join('.'))!
      : undefined
    const example = childPath
      ? `see [${header(childPath)}](#${anchor(kind, childPath)})`
      : exampleOf(kind, files, section.namedValues ? keyPath.concat(ANY) : [...keyPath, row.key], nodes)
    const key = section.namedValues ? code('NAME') : code(row.key)
    lines.push(
      `| ${[
        key,
        type,
        defaultOf(
          node,
          row.variants.every((variant) => variant.required),
        ),
        rangeOf(node),
        linked(meaning),
        example,
      ]
        .map(cell)
        .join(' | ')} |`,
    )
  }
  return lines.join('\n')
}

function poolExtras(files: ExampleFile[]): string {
  const rows = Object.entries(POOL_KEY_ALIASES).map(([alias, target]) => {
    const example = exampleOf('pool', files, ['pool', ...target.split('.')], [])
    return `| ${code(alias)} | ${code(target)} | ${example.replace(/^`[a-z_]+ =/, `\`${alias} =`)} |`
  })
  return [
    `<a id="pool-base-tables"></a>`,
    '',
    '### Base tables and the flat health-check keys',
    '',
    "Any other top-level table of a pool file is a base table that `inherits_from` names (the design document's",
    '`[base_pool]`). It holds any keys of `[pool]` (and the flat keys below) and may itself have an `inherits_from`;',
    '`name` and `inherits_from` are never inherited ([docs/configuration.md](configuration.md#inheritance)).',
    '',
    "The design document's inheritance example writes the health-check keys flat. In `[pool]` and in its base tables",
    'they are aliases of the `[pool.health_check]` keys; the resolved pool holds only the nested form, and an alias',
    'and its nested key set to different values in one table are an error.',
    '',
    '| flat key | same as | example |',
    '| --- | --- | --- |',
    ...rows,
    '',
    '```toml',
    "# The design document's example: a base table, and a pool that inherits from it",
    '[base_pool]',
    'health_check_interval = 30',
    'failure_threshold = 3',
    'recovery_time = 60',
    '',
    '[pool]',
    'inherits_from = "base_pool"',
    'name = "specific_pool"',
    '# values of the base may be overridden',
    'health_check_interval = 60',
    '```',
  ].join('\n')
}

function kindText(kind: FileKind, files: ExampleFile[]): string {
  const file = fileSchemas[kind] as Node
  const sections = sectionsOf(file)
  const title = KIND_TITLES[kind]
  const topLevel = Object.entries(file.properties ?? {}).map(([key, property]) => {
    const value = recordValue(property)
    const keyPath = value && isTable(value) ? [key, ANY] : [key]
    // The first sentence: the section says the rest.
    const about = (property.description ?? '').split(/(?<=\.) /)[0]!
    return `- [${header(keyPath)}](#${anchor(kind, keyPath)}): ${linked(about)}`
  })
  const examples = files
    .filter((example) => example.kind === kind)
    .map((example) => [`#### ${code(example.file)}`, '', '```toml', example.text.trimEnd(), '```'].join('\n'))
  return [
    `## ${title}`,
    '',
    `${linked(file.description ?? '')} JSON Schema for editors: ${code(jsonSchemaFileNames[kind])} (\`llmpool schema\`).`,
    '',
    'Top-level tables:',
    '',
    ...topLevel,
    ...(kind === 'pool' || kind === 'task_group'
      ? ['- base tables: tables that `inherits_from` names (see [inheritance](configuration.md#inheritance))']
      : []),
    '',
    ...sections.flatMap((section) => [sectionText(kind, section, files, sections), '']),
    ...(kind === 'pool' ? [poolExtras(files), ''] : []),
    `### Example${examples.length > 1 ? 's' : ''}`,
    '',
    `The reference configuration's ${examples.length > 1 ? 'files' : 'file'} of this kind (configs/llms, the design document's own), with the comments in English.`,
    '',
    ...examples.flatMap((example) => [example, '']),
  ].join('\n')
}

/** The whole page. */
export function renderReference(files: ExampleFile[] = exampleFiles()): string {
  const contents = FILE_KINDS.map((kind) => {
    const title = KIND_TITLES[kind]
    return `- [${title}](#${title
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-')})`
  })
  return (
    `${[
      "<!-- Generated from packages/schema/src by `pnpm docs:reference` (packages/schema/scripts/reference.ts): edit the schemas' descriptions, not this file. -->",
      '',
      '# Configuration reference',
      '',
      'Every file, table and key of an llmpool configuration directory (`configs/llms/`): its type, its default, the',
      'values it takes, what it means, and an example. This page is generated from the schemas of `@llmpool/schema`, the',
      'ones the loader validates against and `llmpool schema` writes for editors, so it lists exactly what is accepted.',
      '',
      'How the files become one configuration (the pipeline, `${VAR}` injection, inheritance, overlays, the rules that span',
      'files) is in [docs/configuration.md](configuration.md); what the keys make llmpool do is in',
      '[docs/routing.md](routing.md), [docs/limits.md](limits.md), [docs/breaker.md](breaker.md) and',
      '[docs/hot-reload.md](hot-reload.md); where llmpool reads the design document differently, in',
      '[decision 0003](decisions/0003-configuration-semantics.md).',
      '',
      '- **type**: `name` is letters, digits, `_` and `-`, starting with a letter (no dots: `group.echelon` references',
      '  need the dot). Durations are numbers of seconds (`0.5` is half a second).',
      '- **default**: the value a key that is left out takes; **required**: the key must be written (in the file, or,',
      '  with `inherits_from`, in a base); `—`: no value, and the meaning says what leaving it out does.',
      '- **`${VAR}`**: any value may be written as `"${VAR}"` or `"${VAR:default}"`; in a number, integer or boolean key',
      "  the variable's text takes the key's type ([docs/configuration.md](configuration.md#environment-variables)).",
      '- **TOML**: the design document writes some inline tables over several lines, which is TOML 1.1. llmpool reads',
      '  it; taplo and other TOML 1.0 tools reject it. The examples below write those values as tables, valid in both.',
      '',
      ...contents,
      '',
    ].join('\n')}\n${FILE_KINDS.map((kind) => kindText(kind, files)).join('\n')}`
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  )
}

// `tsx packages/schema/scripts/reference.ts [--check]`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = renderReference()
  const relative = path.relative(process.cwd(), REFERENCE_FILE)
  if (process.argv.includes('--check')) {
    let current = ''
    try {
      current = readFileSync(REFERENCE_FILE, 'utf8')
    } catch {
      current = ''
    }
    if (current !== text) {
      console.error(`${relative} is out of date: run pnpm docs:reference`)
      process.exitCode = 1
    } else console.log(`${relative} is up to date`)
  } else {
    writeFileSync(REFERENCE_FILE, text)
    console.log(`wrote ${relative}`)
  }
}
