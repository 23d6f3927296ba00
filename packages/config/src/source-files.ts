import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { KeyLocator, type Location } from './locate'
import type { KeyPath } from './key-path'
import type { ConfigProblem } from './problems'
import { isPlainTable } from './validate'

/** One configuration file as read and parsed. */
export interface SourceFile {
  /** Path relative to the configuration directory, with `/` separators. */
  relative: string
  /** The text, or undefined when the file is missing or unreadable. */
  text: string | undefined
  /** The parsed document, or undefined when the file is missing, unreadable or not valid TOML. */
  document: Record<string, unknown> | undefined
  /** Problems reading or parsing it. */
  problems: ConfigProblem[]
  /** Lazily built index of where keys stand in the text. */
  locate(path: KeyPath): Location | undefined
}

interface CacheEntry {
  mtimeMs: number
  size: number
  ino: number
  file: SourceFile
}

/** TOML dates become their TOML text, so that a resolved configuration holds only JSON values. */
function normalizeDates(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(normalizeDates)
  if (isPlainTable(value)) {
    for (const [key, item] of Object.entries(value)) value[key] = normalizeDates(item)
  }
  return value
}

function syntaxProblem(relative: string, error: unknown): ConfigProblem {
  if (error instanceof TomlError) {
    // smol-toml's message carries a code frame of the offending lines, which may hold a secret: keep the first line.
    const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '')
    return { code: 'toml_syntax', file: relative, path: '', message: `invalid TOML: ${reason}`, line: error.line, column: error.column }
  }
  return { code: 'toml_syntax', file: relative, path: '', message: 'invalid TOML: the file could not be parsed' }
}

/**
 * Reads and parses configuration files. With caching on, a file whose size, mtime and inode are unchanged since the
 * last read is not read or parsed again; `invalidate()` forces a re-read (the watcher calls it for changed paths).
 */
export class SourceFiles {
  private readonly cache = new Map<string, CacheEntry>()

  constructor(
    readonly directory: string,
    /** Off: every read goes to disk (registry `cache_enabled = false`). */
    public cacheEnabled: boolean,
  ) {}

  invalidate(absolutePaths?: Iterable<string>): void {
    if (!absolutePaths) return this.cache.clear()
    for (const absolute of absolutePaths) this.cache.delete(absolute)
  }

  exists(relative: string): boolean {
    try {
      return statSync(path.join(this.directory, relative)).isFile()
    } catch {
      return false
    }
  }

  read(relative: string): SourceFile {
    const absolute = path.join(this.directory, relative)
    let stats: ReturnType<typeof statSync> | undefined
    try {
      stats = statSync(absolute)
    } catch {
      stats = undefined
    }
    if (!stats?.isFile()) {
      this.cache.delete(absolute)
      const message = stats ? 'is not a file' : 'file not found'
      return this.build(relative, undefined, [{ code: 'file_not_found', file: relative, path: '', message }])
    }
    const cached = this.cacheEnabled ? this.cache.get(absolute) : undefined
    if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size && cached.ino === stats.ino) return cached.file
    let text: string
    try {
      text = readFileSync(absolute, 'utf8')
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      return this.build(relative, undefined, [{ code: 'file_unreadable', file: relative, path: '', message: `cannot read the file (${reason})` }])
    }
    const file = this.build(relative, text, [])
    if (this.cacheEnabled) this.cache.set(absolute, { mtimeMs: stats.mtimeMs, size: stats.size, ino: stats.ino, file })
    return file
  }

  private build(relative: string, text: string | undefined, problems: ConfigProblem[]): SourceFile {
    let document: Record<string, unknown> | undefined
    if (text !== undefined) {
      try {
        document = normalizeDates(parse(text)) as Record<string, unknown>
      } catch (error) {
        problems.push(syntaxProblem(relative, error))
      }
    }
    let locator: KeyLocator | undefined
    return {
      relative,
      text,
      document,
      problems,
      locate: (keyPath) => {
        if (text === undefined) return undefined
        locator ??= new KeyLocator(text)
        return locator.locate(keyPath)
      },
    }
  }
}
