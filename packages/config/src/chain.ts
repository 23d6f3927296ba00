import type { Echelon, Pool, TaskGroup } from '@llmpool/schema'
import { getOwn } from './own'

/** A group's echelons in the order they are tried: by `priority`, then by their order in the file. */
function byPriority(group: TaskGroup): [string, Echelon][] {
  return Object.entries(group.echelons)
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry[1].priority ?? 0) - (b.entry[1].priority ?? 0) || a.index - b.index)
    .map(({ entry }) => entry)
}

/**
 * The echelons (`group.echelon`) a request to a task group walks, as docs/routing.md defines the chain:
 * `echelon_down` takes its best echelon, then `fallback_groups` (or, when that is empty, its other echelons);
 * `group_fallback` all its echelons, then those of `fallback_groups`. No echelon twice; unknown names are left out.
 */
export function chainOf(name: string, taskGroups: Readonly<Record<string, TaskGroup>>): string[] {
  const group = getOwn(taskGroups, name)
  if (!group) return []
  const own = byPriority(group).map(([echelon]) => `${name}.${echelon}`)
  const fallbacks = group.fallback.fallback_groups.flatMap((reference) => {
    const dot = reference.indexOf('.')
    const target = getOwn(taskGroups, dot === -1 ? reference : reference.slice(0, dot))
    if (!target) return []
    if (dot !== -1) return Object.hasOwn(target.echelons, reference.slice(dot + 1)) ? [reference] : []
    return byPriority(target).map(([echelon]) => `${reference}.${echelon}`)
  })
  const steps =
    group.fallback.strategy === 'echelon_down'
      ? [...own.slice(0, 1), ...(fallbacks.length > 0 ? fallbacks : own.slice(1))]
      : [...own, ...fallbacks]
  return [...new Set(steps)]
}

/** The echelon a request to the group tries first: lowest `priority`, then first in the file. */
function bestEchelon(group: TaskGroup): string | undefined {
  let best: string | undefined
  let bestPriority = Number.POSITIVE_INFINITY
  for (const name in group.echelons) {
    const priority = group.echelons[name]!.priority ?? 0
    if (priority < bestPriority) {
      best = name
      bestPriority = priority
    }
  }
  return best
}

/**
 * True when the chain of a task group has one echelon — `chainOf(...).length === 1` — without making the chain: this
 * runs for every task group on every reload.
 */
export function chainHasOneStep(name: string, taskGroups: Readonly<Record<string, TaskGroup>>): boolean {
  const group = getOwn(taskGroups, name)
  if (!group) return false
  let echelons = 0
  for (const _ in group.echelons) echelons++
  const fallbacks = group.fallback.fallback_groups
  if (fallbacks.length === 0) return echelons === 1
  if (group.fallback.strategy === 'group_fallback' && echelons > 1) return false
  // One step only if every fallback entry names (an echelon of) nothing but the group's own first echelon.
  const best = bestEchelon(group)
  let named = false
  for (const reference of fallbacks) {
    const dot = reference.indexOf('.')
    const target = getOwn(taskGroups, dot === -1 ? reference : reference.slice(0, dot))
    if (!target) continue
    if (dot === -1) {
      // A whole group: another group's echelons, or all of its own.
      if (target !== group || echelons > 1) return false
      named = true
      continue
    }
    const echelon = reference.slice(dot + 1)
    if (!Object.hasOwn(target.echelons, echelon)) continue
    if (target !== group || echelon !== best) return false
    named = true
  }
  // Under echelon_down, fallback_groups that name nothing leave the group's own echelons as the chain.
  return named || group.fallback.strategy === 'group_fallback' || echelons === 1
}

/** The instances of some echelons: one per model and key (`api_keys`), a model listed twice being one. */
export function instancesOf(echelons: readonly string[], taskGroups: Readonly<Record<string, TaskGroup>>): Set<string> {
  const instances = new Set<string>()
  for (const label of echelons) {
    const dot = label.indexOf('.')
    const echelon = getOwn(getOwn(taskGroups, label.slice(0, dot))?.echelons ?? {}, label.slice(dot + 1))
    if (!echelon) continue
    const keys = echelon.api_keys?.length ?? 1
    for (const model of echelon.models) for (let key = 0; key < keys; key++) instances.add(`${label}/${model}#${key}`)
  }
  return instances
}

/** Every echelon of a pool's task groups, and (under `pool_fallback`) of its fallback pools' task groups. */
export function poolEchelons(
  name: string,
  pools: Readonly<Record<string, Pool>>,
  taskGroups: Readonly<Record<string, TaskGroup>>,
): string[] {
  const pool = getOwn(pools, name)
  if (!pool) return []
  const reached = [
    pool,
    ...(pool.fallback.strategy === 'pool_fallback'
      ? pool.fallback.fallback_pools.flatMap((other) => getOwn(pools, other) ?? [])
      : []),
  ]
  return reached.flatMap((each) =>
    each.task_groups.flatMap((group) =>
      Object.keys(getOwn(taskGroups, group)?.echelons ?? {}).map((echelon) => `${group}.${echelon}`),
    ),
  )
}
