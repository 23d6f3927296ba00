import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { checkFaults, type FaultSpec } from './faults'
import { type FaultsIssue, InvalidFaultsError } from './invalid-faults-error'

/** What a faults file holds; spread it into `createMockUpstream()` options. */
export interface FaultsFile {
  /** Seed of the random draws. */
  seed?: number
  /** Models `GET /v1/models` lists. */
  models?: string[]
  /** Fault rules per model (`'*'`: every model). */
  faults: Record<string, FaultSpec[]>
  /** Fault rules per API key (`[key_faults."sk-b"]`), tried before the model's. */
  keyFaults?: Record<string, FaultSpec[]>
  /** Fixed reply text per model. */
  replies?: Record<string, string>
}

/** The one place where the file's snake_case keys meet the TypeScript names. camelCase is accepted too. */
const KEY_NAMES: Readonly<Record<string, string>> = {
  retry_after: 'retryAfter',
  retry_after_ms: 'retryAfterMs',
  latency_ms: 'latencyMs',
  jitter_ms: 'jitterMs',
  chunk_delay_ms: 'chunkDelayMs',
  stream_cut_after_chunks: 'streamCutAfterChunks',
  error_in_body: 'errorInBody',
  quota_exhausted: 'quotaExhausted',
}

/** Top-level keys; `key_faults` (TOML) and `keyFaults` (JSON) are the same table, `FaultsFile.keyFaults`. */
const TOP_LEVEL_KEYS = new Set(['seed', 'models', 'faults', 'key_faults', 'keyFaults', 'replies'])

/** Reads a faults file: TOML for `.toml`, JSON otherwise. Throws `InvalidFaultsError` listing every problem. */
export async function loadFaultsFile(path: string): Promise<FaultsFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(error as Error).message}`
    throw new InvalidFaultsError([{ path: '', message: reason }], path)
  }
  return parseFaultsFile(text, { format: extname(path).toLowerCase() === '.toml' ? 'toml' : 'json', file: path })
}

/** Parses the text of a faults file. */
export function parseFaultsFile(text: string, options: { format: 'json' | 'toml'; file?: string }): FaultsFile {
  let data: unknown
  try {
    data = options.format === 'toml' ? parseToml(text) : JSON.parse(text)
  } catch (error) {
    const { line, column } = error as { line?: number; column?: number }
    const where = line === undefined ? '' : ` at line ${line}${column === undefined ? '' : `, column ${column}`}`
    const firstLine = (error as Error).message.split('\n')[0]
    throw new InvalidFaultsError(
      [{ path: '', message: `invalid ${options.format.toUpperCase()}${where}: ${firstLine}` }],
      options.file,
    )
  }
  const issues: FaultsIssue[] = []
  const result: FaultsFile = { faults: {} }
  if (!isRecord(data)) {
    throw new InvalidFaultsError([{ path: '', message: 'the file must hold a table/object' }], options.file)
  }
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL_KEYS.has(key))
      issues.push({ path: key, message: `unknown key; expected one of ${[...TOP_LEVEL_KEYS].join(', ')}` })
  }
  if (data.seed !== undefined) {
    if (typeof data.seed === 'number' && Number.isFinite(data.seed)) result.seed = data.seed
    else issues.push({ path: 'seed', message: 'must be a number' })
  }
  if (data.models !== undefined) {
    if (Array.isArray(data.models) && data.models.every((model) => typeof model === 'string'))
      result.models = data.models as string[]
    else issues.push({ path: 'models', message: 'must be a list of model names' })
  }
  if (data.replies !== undefined) {
    if (isRecord(data.replies) && Object.values(data.replies).every((reply) => typeof reply === 'string')) {
      result.replies = data.replies as Record<string, string>
    } else {
      issues.push({ path: 'replies', message: 'must map model names to reply text' })
    }
  }
  if (data.faults !== undefined) {
    if (isRecord(data.faults)) {
      for (const [model, faults] of Object.entries(data.faults)) {
        result.faults[model] = checkFaults(renameKeys(faults), `faults.${model}`, issues)
      }
    } else {
      issues.push({ path: 'faults', message: 'must map model names to fault rules' })
    }
  }
  const keyFaults = readKeyFaults(data, issues)
  if (keyFaults !== undefined) result.keyFaults = keyFaults
  if (issues.length > 0) throw new InvalidFaultsError(issues, options.file)
  return result
}

/** `[key_faults."sk-b"]` (or JSON `keyFaults`): rules per API key, checked as a model's are. */
function readKeyFaults(data: Record<string, unknown>, issues: FaultsIssue[]): Record<string, FaultSpec[]> | undefined {
  const names = ['key_faults', 'keyFaults'].filter((name) => data[name] !== undefined)
  if (names.length > 1) issues.push({ path: 'keyFaults', message: 'write key_faults or keyFaults, not both' })
  const [name] = names
  if (name === undefined) return undefined
  const table = data[name]
  if (!isRecord(table)) {
    issues.push({ path: name, message: 'must map API keys to fault rules' })
    return undefined
  }
  const keyFaults: Record<string, FaultSpec[]> = {}
  for (const [apiKey, faults] of Object.entries(table)) {
    if (apiKey === '' || apiKey.trim() !== apiKey)
      issues.push({ path: `${name}.${apiKey}`, message: 'an API key must be non-empty, without surrounding spaces' })
    keyFaults[apiKey] = checkFaults(renameKeys(faults), `${name}.${apiKey}`, issues)
  }
  return keyFaults
}

/** Renames snake_case keys of rules and sequence steps (not inside `body` or `headers`). */
function renameKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renameKeys)
  if (!isRecord(value)) return value
  const renamed: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    renamed[KEY_NAMES[key] ?? key] = key === 'sequence' ? renameKeys(inner) : inner
  }
  return renamed
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
