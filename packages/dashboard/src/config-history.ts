import { createHash } from 'node:crypto'
import { type ConfigDiff, type ConfigStore, isSecretKey, redactUrl, type ResolvedConfig } from '@llmpool/config'
import type { Disposable } from '@llmpool/schema'
import type { HistoryRecord } from './types'

/** Most changed values kept per reload: a reload that rewrote everything still reads as a list, not a novel. */
const MAX_CHANGES = 200
const SECTIONS = ['pools', 'task_groups', 'wrappers'] as const

/** A diff as lines: `+ pools.new_pool`, `~ task_groups.fast_group`, `- wrappers.old`, `~ registry`. */
export function summarizeDiff(diff: ConfigDiff): string[] {
  const lines: string[] = []
  for (const section of SECTIONS) {
    for (const name of diff[section].added) lines.push(`+ ${section}.${name}`)
    for (const name of diff[section].changed) lines.push(`~ ${section}.${name}`)
    for (const name of diff[section].removed) lines.push(`- ${section}.${name}`)
  }
  if (diff.registry) lines.push('~ registry')
  return lines
}

/** What a secret's leaf holds in the comparison: a digest, so that a changed key is seen, never shown. */
const SECRET = 'secret:'
const fingerprint = (value: unknown) =>
  `${SECRET}${createHash('sha256')
    .update(JSON.stringify(value) ?? '')
    .digest('base64url')}`

/**
 * Every leaf of a configuration table as `path → JSON text`, from the raw values (the configuration's redaction hooks
 * would hide that a key changed). A secret-named key's value becomes a digest, compared and never sent; URLs lose
 * their credentials: no key can reach the page through a diff.
 */
function leaves(value: unknown, path: string, into: Map<string, string>): Map<string, string> {
  if (Array.isArray(value) || (value !== null && typeof value === 'object')) {
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) into.set(path, Array.isArray(value) ? '[]' : '{}')
    for (const [key, item] of entries) {
      const next = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`
      if (!Array.isArray(value) && isSecretKey(key)) into.set(next, fingerprint(item))
      else leaves(item, next, into)
    }
    return into
  }
  into.set(path, typeof value === 'string' ? JSON.stringify(redactUrl(value)) : (JSON.stringify(value) ?? 'null'))
  return into
}

/** The changed values of one reload, path by path; a secret that changed shows without its values. */
export function detailedChanges(
  previous: ResolvedConfig,
  next: ResolvedConfig,
  diff: ConfigDiff,
): NonNullable<HistoryRecord['changes']> {
  const changes: NonNullable<HistoryRecord['changes']> = []
  const compare = (path: string, before: unknown, after: unknown) => {
    const old = before === undefined ? new Map<string, string>() : leaves(before, path, new Map())
    const now = after === undefined ? new Map<string, string>() : leaves(after, path, new Map())
    const secret = (value: string | undefined) => value?.startsWith(SECRET) === true
    for (const [key, value] of now) {
      const was = old.get(key)
      if (was === value) continue
      if (secret(value) || secret(was)) changes.push({ path: key })
      else changes.push({ path: key, ...(was !== undefined ? { before: was } : {}), after: value })
    }
    for (const [key, value] of old)
      if (!now.has(key)) changes.push(secret(value) ? { path: key } : { path: key, before: value })
  }
  for (const section of SECTIONS) {
    for (const name of [...diff[section].added, ...diff[section].changed, ...diff[section].removed]) {
      compare(
        `${section}.${name}`,
        (previous[section] as Record<string, unknown>)[name],
        (next[section] as Record<string, unknown>)[name],
      )
    }
  }
  if (diff.registry) compare('registry', previous.registry, next.registry)
  return changes.slice(0, MAX_CHANGES)
}

/**
 * The configuration's history as the page shows it: the store's applied and rejected loads, oldest first, each
 * applied one with its summary, and with every changed value for the reloads this process saw (the store itself keeps
 * which entries changed, not how).
 */
export class ConfigHistory {
  /** Changed values by `previousHash→nextHash`: the same two configurations always differ the same way. */
  private readonly details = new Map<string, NonNullable<HistoryRecord['changes']>>()
  private readonly subscription: Disposable | undefined

  constructor(private readonly store: ConfigStore | undefined) {
    this.subscription = store?.subscribe((next, previous, diff) => {
      this.details.set(`${previous.source.hash}→${next.source.hash}`, detailedChanges(previous, next, diff))
      // Bounded like the store's own history.
      if (this.details.size > 100) this.details.delete(this.details.keys().next().value!)
    })
  }

  records(): HistoryRecord[] {
    if (!this.store) return []
    const { applied, rejected } = this.store.history()
    const records: HistoryRecord[] = []
    let previousHash: string | undefined
    for (const record of applied) {
      const changes = previousHash === undefined ? undefined : this.details.get(`${previousHash}→${record.hash}`)
      records.push({
        at: record.at,
        status: 'applied',
        trigger: record.trigger,
        hash: record.hash,
        ...(record.version !== undefined ? { version: record.version } : {}),
        summary: summarizeDiff(record.diff),
        ...(changes ? { changes } : {}),
      })
      previousHash = record.hash
    }
    for (const record of rejected) {
      records.push({
        at: record.at,
        status: 'rejected',
        trigger: record.trigger,
        problems: record.errors.map((problem) => ({
          file: problem.file,
          ...(problem.line !== undefined ? { line: problem.line } : {}),
          path: problem.path,
          message: problem.message,
        })),
      })
    }
    return records.sort((a, b) => a.at - b.at)
  }

  dispose(): void {
    this.subscription?.dispose()
  }
}
