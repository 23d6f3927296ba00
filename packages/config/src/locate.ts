import type { KeyPath } from './key-path'

const KEY = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`
const DOTTED_KEY = String.raw`${KEY}(?:\s*\.\s*${KEY})*`
const HEADER = new RegExp(String.raw`^\s*\[\[?\s*(${DOTTED_KEY})\s*\]\]?`)
const ASSIGNMENT = new RegExp(String.raw`(^\s*|[{,]\s*)(${DOTTED_KEY})\s*=`, 'g')
const KEY_PART = new RegExp(KEY, 'g')

function splitKeys(dotted: string): string[] {
  return (dotted.match(KEY_PART) ?? []).map((key) =>
    key.startsWith('"') ? JSON.parse(key) : key.replace(/^'|'$/g, ''),
  )
}

export interface Location {
  line: number
  column: number
}

/**
 * Finds where keys stand in TOML text, so that a problem found after parsing can still point at a line and column.
 * A heuristic, not a parser: it knows table headers, dotted keys and inline tables, which is all the configuration
 * files use. A key it cannot find is located at its nearest enclosing table.
 */
export class KeyLocator {
  private readonly index = new Map<string, Location>()

  constructor(text: string) {
    let table: string[] = []
    const inline: { depth: number; prefix: string[] }[] = []
    let depth = 0
    const lines = text.split(/\r?\n/)
    for (let number = 0; number < lines.length; number++) {
      const line = stripComment(lines[number]!)
      if (depth === 0) {
        const header = HEADER.exec(line)
        if (header) {
          table = splitKeys(header[1]!)
          this.add(table, number + 1, line.indexOf('[') + 1)
          continue
        }
      }
      ASSIGNMENT.lastIndex = 0
      let match: RegExpExecArray | null
      let cursor = 0
      while ((match = ASSIGNMENT.exec(line))) {
        // Count the `{` that opens an inline table before its first key: `a = { b = 1 }` puts `b` inside `a`.
        const keyStart = match.index + match[1]!.length
        depth += braceBalance(line.slice(cursor, keyStart))
        cursor = keyStart
        while (inline.length > 0 && depth < inline[inline.length - 1]!.depth) inline.pop()
        const prefix = inline.length > 0 ? inline[inline.length - 1]!.prefix : table
        const keys = [...prefix, ...splitKeys(match[2]!)]
        this.add(keys, number + 1, keyStart + 1)
        const rest = line.slice(match.index + match[0].length)
        if (/^\s*\{/.test(rest)) inline.push({ depth: depth + 1, prefix: keys })
      }
      depth += braceBalance(line.slice(cursor))
      while (inline.length > 0 && depth < inline[inline.length - 1]!.depth) inline.pop()
    }
  }

  private add(keys: string[], line: number, column: number): void {
    const id = keys.join('\u0000')
    if (!this.index.has(id)) this.index.set(id, { line, column })
  }

  /** The location of `path`, or of its nearest enclosing key or table that the text shows. */
  locate(path: KeyPath): Location | undefined {
    const keys: string[] = []
    for (const segment of path) {
      if (typeof segment === 'number') break
      keys.push(segment)
    }
    for (let length = keys.length; length > 0; length--) {
      const found = this.index.get(keys.slice(0, length).join('\u0000'))
      if (found) return found
    }
    return undefined
  }
}

function stripComment(line: string): string {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const char = line[i]
    if (quote) {
      if (char === '\\' && quote === '"') i++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") quote = char
    else if (char === '#') return line.slice(0, i)
  }
  return line
}

function braceBalance(text: string): number {
  let balance = 0
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (quote) {
      if (char === '\\' && quote === '"') i++
      else if (char === quote) quote = undefined
    } else if (char === '"' || char === "'") quote = char
    else if (char === '{') balance++
    else if (char === '}') balance--
  }
  return balance
}
