import { type Pool, RATE_LIMIT_ALGORITHMS, type TaskGroup } from '@llmpool/schema'
import { chainHasOneStep, chainOf, instancesOf, poolEchelons } from './chain'
import type { LoadedDocument } from './document'
import { type KeyPath, pathKey } from './key-path'
import { type Written, writingLayer, writtenAt } from './layers'
import { type Origins, originsOf } from './origins'
import { isPlainTable } from './validate'

interface Sections {
  pools: Readonly<Record<string, Pool>>
  taskGroups: Readonly<Record<string, TaskGroup>>
}

/** A setting that another setting makes do nothing. Written where it does nothing, it is a `no_effect` warning. */
interface NoEffectRule<Section> {
  /** The setting's key path inside `[pool]` or `[task_group]`. */
  path: readonly string[]
  /** How the message names it. */
  label: string
  /** The label is plural: "weights have no effect". */
  plural?: boolean
  /** Why the setting does nothing in this section; undefined when it does something. */
  ignoredIn(section: Section, name: string, sections: Sections): string | undefined
}

const disabledMetrics = (section: Pool | TaskGroup) =>
  section.metrics.enabled ? undefined : 'metrics.enabled is false'

const rateLimitingTables = RATE_LIMIT_ALGORITHMS.map(
  (algorithm): NoEffectRule<Pool> => ({
    path: ['rate_limiting', algorithm],
    label: `[pool.rate_limiting.${algorithm}]`,
    ignoredIn: ({ rate_limiting: limits }) =>
      !limits.enabled
        ? 'rate_limiting.enabled is false'
        : limits.algorithm !== algorithm
          ? `rate_limiting.algorithm is "${limits.algorithm}"`
          : undefined,
  }),
)

const POOL_RULES: NoEffectRule<Pool>[] = [
  {
    path: ['rotation_strategy', 'options', 'weights'],
    label: 'weights',
    plural: true,
    ignoredIn: ({ rotation_strategy: { type } }) =>
      type === 'weighted' ? undefined : `rotation_strategy.type is "${type}"; weights apply to "weighted" only`,
  },
  {
    path: ['fallback', 'fallback_pools'],
    label: 'fallback_pools',
    plural: true,
    ignoredIn: ({ fallback }) =>
      fallback.strategy === 'instance_rotation'
        ? 'fallback.strategy is "instance_rotation"; fallback_pools apply to "pool_fallback" only'
        : undefined,
  },
  ...rateLimitingTables,
  {
    path: ['fallback', 'hedge_after'],
    label: 'hedge_after',
    ignoredIn: (pool, name, { pools, taskGroups }) =>
      instancesOf(poolEchelons(name, pools, taskGroups), taskGroups).size === 1
        ? `the pool${pool.fallback.strategy === 'pool_fallback' ? ' with its fallback pools' : ''} has one instance: there is no other to call`
        : undefined,
  },
  { path: ['metrics', 'interval'], label: 'metrics.interval', ignoredIn: disabledMetrics },
  { path: ['metrics', 'retention_period'], label: 'metrics.retention_period', ignoredIn: disabledMetrics },
]

const TASK_GROUP_RULES: NoEffectRule<TaskGroup>[] = [
  {
    path: ['fallback', 'hedge_after'],
    label: 'hedge_after',
    ignoredIn: (_group, name, { taskGroups }) =>
      instancesOf(chainOf(name, taskGroups), taskGroups).size === 1
        ? 'the chain of this task group has one instance: there is no other to call'
        : undefined,
  },
  {
    path: ['fallback', 'retry_delay'],
    label: 'retry_delay',
    ignoredIn: (group, name, { taskGroups }) =>
      group.fallback.max_attempts === 1
        ? 'fallback.max_attempts is 1: a request never moves on to another echelon, and retry_delay is the wait before it does'
        : chainHasOneStep(name, taskGroups)
          ? 'the chain of this task group has one echelon, and retry_delay is the wait between echelons'
          : undefined,
  },
  { path: ['metrics', 'collection_interval'], label: 'metrics.collection_interval', ignoredIn: disabledMetrics },
]

/** Present and not empty: `weights = {}` and `fallback_pools = []` say nothing. */
function isSet(section: unknown, path: readonly string[]): boolean {
  let value = section
  for (const key of path) value = isPlainTable(value) && Object.hasOwn(value, key) ? value[key] : undefined
  if (Array.isArray(value)) return value.length > 0
  if (isPlainTable(value)) {
    for (const _ in value) return true
    return false
  }
  return value !== undefined
}

/** One written setting that does nothing in a section that uses it. */
interface Finding {
  written: Written
  path: KeyPath
  message: string
  /** Sections that inherit it and in which it does nothing: the message names them. */
  inheritedBy: string[]
}

export type NoEffectReport = (written: Written, path: KeyPath, message: string) => void

type Visit = (
  kind: 'pool' | 'task_group',
  name: string,
  section: object,
  origins: Origins,
  rule: NoEffectRule<object>,
) => void

function visitRules(sections: Sections, visit: Visit): void {
  const each = (
    kind: 'pool' | 'task_group',
    entries: Readonly<Record<string, object>>,
    rules: NoEffectRule<object>[],
  ) => {
    for (const name in entries) {
      const section = entries[name]!
      const origins = originsOf(section)
      if (origins) for (const rule of rules) if (isSet(section, rule.path)) visit(kind, name, section, origins, rule)
    }
  }
  each('pool', sections.pools, POOL_RULES as NoEffectRule<object>[])
  each('task_group', sections.taskGroups, TASK_GROUP_RULES as NoEffectRule<object>[])
}

/** Documents some section inherits from: a setting they write may be used by one section and ignored by another. */
function baseDocuments(sections: Sections): Set<LoadedDocument> {
  const bases = new Set<LoadedDocument>()
  for (const entries of [sections.pools, sections.taskGroups] as Readonly<Record<string, object>>[]) {
    for (const name in entries) {
      const layers = originsOf(entries[name]!)?.layers ?? []
      for (let index = 1; index < layers.length; index++) bases.add(layers[index]!.loaded)
    }
  }
  return bases
}

/**
 * Settings that do nothing where they are written, because another setting makes them do nothing: a warning for
 * each, at the file and line that wrote it — only when it does nothing in every section that uses it, so a base
 * table that one child ignores and another uses is not reported. It runs on every reload, over every section, so
 * where a setting does something nothing more is looked up (unless some section inherits: then where it was written).
 */
export function checkNoEffect(sections: Sections, report: NoEffectReport): void {
  const bases = baseDocuments(sections)
  const findings = new Map<string, Finding>()
  const effective = new Set<string>()
  const keyOf = (written: Written) => `${written.loaded.fileOf(written.path)}\u0000${pathKey(written.path)}`
  visitRules(sections, (kind, name, section, origins, rule) => {
    const reason = rule.ignoredIn(section, name, sections)
    if (reason === undefined) {
      if (bases.size === 0) return
      const layer = writingLayer(origins.layers, rule.path)
      if (layer && bases.has(layer.loaded)) effective.add(keyOf(writtenAt(origins.layers, rule.path)!))
      return
    }
    const layer = writingLayer(origins.layers, rule.path)
    if (!layer) return
    const written = writtenAt(origins.layers, rule.path)!
    const key = keyOf(written)
    let finding = findings.get(key)
    if (!finding) {
      const message = `${rule.label} ${rule.plural ? 'have' : 'has'} no effect: ${reason}`
      findings.set(key, (finding = { written, path: [kind, ...rule.path], message, inheritedBy: [] }))
    }
    if (layer.loaded !== origins.loaded || layer.at[0] !== kind) finding.inheritedBy.push(name)
  })
  for (const [key, finding] of findings) {
    if (effective.has(key)) continue
    const kind = finding.path[0] === 'pool' ? 'pool' : 'task group'
    const many = finding.inheritedBy.length > 1
    const names = finding.inheritedBy.map((name) => `"${name}"`).join(', ')
    const where = names === '' ? '' : ` (in ${kind}${many ? 's' : ''} ${names}, which inherit${many ? '' : 's'} it)`
    report(finding.written, finding.path, `${finding.message}${where}`)
  }
}
