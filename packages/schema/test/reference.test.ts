/**
 * docs/reference.md is generated from the schemas (`pnpm docs:reference`). These tests fail when it is stale, when a
 * key of a schema is missing from it, and when the English copy of the reference configuration it shows as examples
 * (docs/examples/llms) drifts from configs/llms, the design document's own files.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'smol-toml'
import { describe, expect, test } from 'vitest'
import { EXAMPLES_DIRECTORY, REFERENCE_FILE, renderReference } from '../scripts/reference'
import { FILE_KINDS, type FileKind, fileSchemas, jsonSchemaFileNames } from '../src/index'

const CONFIGS = path.resolve(import.meta.dirname, '../../../configs/llms')
const reference = readFileSync(REFERENCE_FILE, 'utf8')

interface Node {
  properties?: Record<string, Node>
  patternProperties?: Record<string, Node>
  anyOf?: Node[]
}

/**
 * Every key of a file schema, as [table, key]: `['pool.health_check', 'interval']`, `['task_group.echelons.NAME',
 * 'models']`; a top-level table as ['', 'pool']. Walked here on its own, not with the generator's code.
 */
function schemaKeys(file: Node): [string, string][] {
  const keys: [string, string][] = []
  const walk = (node: Node, table: string) => {
    for (const branch of node.anyOf ?? [node])
      for (const [key, property] of Object.entries(branch.properties ?? {})) {
        keys.push([table, key])
        const at = table === '' ? key : `${table}.${key}`
        if (property.properties || property.anyOf?.every((item) => item.properties)) walk(property, at)
        const value = Object.values(property.patternProperties ?? {})[0]
        if (value && (value.properties || value.anyOf?.every((item) => item.properties))) walk(value, `${at}.NAME`)
        else if (value && table === '') keys.push([at, 'NAME']) // `[dependencies]`: `NAME = [...]`
      }
  }
  walk(file, '')
  return keys
}

/** The part of the page about one file kind: from its `## ` heading to the next. */
function partOf(kind: FileKind): string {
  const parts = reference.split(/\n(?=## )/).filter((part) => part.includes(`\`${jsonSchemaFileNames[kind]}\``))
  expect(parts, kind).toHaveLength(1)
  return parts[0]!
}

/** The sections of a part whose `### ` heading names the table (`[pool.health_check]`), each from its heading on. */
function sectionsNaming(part: string, table: string): string[] {
  return part
    .split(/\n(?=### )/)
    .filter((section) => section.startsWith('### ') && section.split('\n')[0]!.includes(`\`[${table}]\``))
}

function tomlFiles(directory: string, prefix = ''): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? tomlFiles(path.join(directory, entry.name), `${prefix}${entry.name}/`)
        : entry.name.endsWith('.toml')
          ? [`${prefix}${entry.name}`]
          : [],
    )
    .sort()
}

/** A parsed file without its `description` strings (the English copy translates them), and their key paths. */
function split(value: unknown, at = ''): { values: unknown; descriptions: string[] } {
  if (Array.isArray(value)) {
    const items = value.map((item, index) => split(item, `${at}[${index}]`))
    return { values: items.map((item) => item.values), descriptions: items.flatMap((item) => item.descriptions) }
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) return { values: value, descriptions: [] }
  const values: Record<string, unknown> = {}
  const descriptions: string[] = []
  for (const [key, item] of Object.entries(value)) {
    const keyPath = at === '' ? key : `${at}.${key}`
    if (key === 'description' && typeof item === 'string') {
      descriptions.push(keyPath)
      continue
    }
    const inner = split(item, keyPath)
    values[key] = inner.values
    descriptions.push(...inner.descriptions)
  }
  return { values, descriptions }
}

describe('docs/reference.md', () => {
  test('is what the generator writes from the schemas now (else: pnpm docs:reference)', () => {
    expect(reference === renderReference(), 'docs/reference.md is stale: run pnpm docs:reference').toBe(true)
  })

  test.each(FILE_KINDS)('%s: every table and key of the schema has its section and row', (kind) => {
    const part = partOf(kind)
    const missing: string[] = []
    for (const [table, key] of schemaKeys(fileSchemas[kind] as Node)) {
      if (table === '') {
        // A top-level table has a section of its own: `[pool]`, or `[pools.NAME]` for a table of named entries.
        if (sectionsNaming(part, key).length + sectionsNaming(part, `${key}.NAME`).length === 0)
          missing.push(`[${key}]`)
        continue
      }
      const sections = sectionsNaming(part, table)
      if (sections.length !== 1 || !sections[0]!.includes(`\n| \`${key}\` |`)) missing.push(`${table}.${key}`)
    }
    expect(missing).toEqual([])
  })

  test('names the tables and keys a newcomer looks for', () => {
    for (const text of [
      '`[task_group.echelons.NAME]`',
      '`[task_group.circuit_breaker]`',
      '`[wrappers.NAME]`',
      '| `pool_name` |',
      '| `task_group_name` |',
      '| `api_key` |',
      '| `base_url` |',
    ])
      expect(reference).toContain(text)
    expect(reference).toMatch(/\| `api_key` \|[^\n]*every model of this echelon, whatever its provider/)
    expect(reference).toMatch(/\| `weights` \|[^\n]*An echelon left out gets weight 0/)
  })
})

describe('the English reference configuration (docs/examples/llms)', () => {
  const files = tomlFiles(CONFIGS)

  test('has every file of configs/llms, and no other', () => {
    expect(tomlFiles(EXAMPLES_DIRECTORY)).toEqual(files)
  })

  test.each(files)('%s: the same values as configs/llms, descriptions translated, comments in English', (file) => {
    const original = split(parse(readFileSync(path.join(CONFIGS, file), 'utf8')))
    const text = readFileSync(path.join(EXAMPLES_DIRECTORY, file), 'utf8')
    const english = split(parse(text))
    expect(english.values).toEqual(original.values)
    expect(english.descriptions).toEqual(original.descriptions)
    expect(text).not.toMatch(/[\u3000-\u9fff\uff00-\uffef]/)
    // TOML 1.0: no inline table spread over lines, so that taplo and other editors read it.
    expect(text).not.toMatch(/=\s*\{[^}\n]*\n/)
  })
})
