import type { TaskGroup } from '@llmpool/schema'
import { checkApiKeys } from './api-keys'
import type { KeyPath } from './key-path'
import { type Layer, writtenAt } from './layers'
import type { SectionReport } from './problems'
import { isPlainTable } from './validate'

/**
 * `fallback_strategy` and `fallback.strategy` (the document writes both) are one setting: either may be given, the
 * merged table gets both, and two different values are a conflict. Runs before validation.
 */
export function reconcileFallbackStrategy(table: Record<string, unknown>, report: SectionReport): void {
  const fallback = isPlainTable(table.fallback) ? { ...table.fallback } : undefined
  const top = table.fallback_strategy
  const nested = fallback?.strategy
  if (top !== undefined && nested !== undefined && top !== nested) {
    report(
      ['task_group', 'fallback_strategy'],
      'conflicting_keys',
      `fallback_strategy = "${String(top)}" but fallback.strategy = "${String(nested)}"; they must agree (or keep one)`,
    )
    return
  }
  if (top !== undefined && nested === undefined && (fallback || table.fallback === undefined))
    table.fallback = { ...fallback, strategy: top }
  if (nested !== undefined && top === undefined) table.fallback_strategy = nested
}

/** An echelon without `priority` takes its position in the file (1, 2, ...). */
function defaultPriorities(group: Record<string, unknown>): void {
  const echelons = group.echelons as Record<string, Record<string, unknown>>
  Object.values(echelons).forEach((echelon, index) => {
    if (echelon.priority === undefined) echelon.priority = index + 1
  })
}

/** With rate limiting on, the table of its algorithm must be there. */
function checkRateLimiting(pool: Record<string, unknown>, report: SectionReport): void {
  const rateLimiting = pool.rate_limiting as { enabled: boolean; algorithm: string } & Record<string, unknown>
  if (rateLimiting.enabled && rateLimiting[rateLimiting.algorithm] === undefined)
    report(
      ['pool', 'rate_limiting', rateLimiting.algorithm],
      'missing_key',
      `rate limiting is enabled with algorithm "${rateLimiting.algorithm}" but [pool.rate_limiting.${rateLimiting.algorithm}] is missing`,
    )
}

/**
 * The rules a validated pool or task group must still pass, and the values that come from other values (an
 * echelon's default priority). `report` places a problem in the section's own file; `reportWritten` where the key
 * was written (a base's file, for a key the section inherits).
 */
export function applySectionRules(
  kind: 'pool' | 'task_group',
  value: Record<string, unknown>,
  layers: readonly Layer[],
  report: SectionReport,
  reportWritten: SectionReport,
): void {
  if (kind === 'pool') {
    checkRateLimiting(value, report)
    return
  }
  defaultPriorities(value)
  checkApiKeys(value.echelons as TaskGroup['echelons'], reportWritten, (keyPath: KeyPath) => {
    const written = writtenAt(layers, keyPath.slice(1))
    return written?.loaded.wholeReference(written.path)
  })
}
