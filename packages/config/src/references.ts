import type { Pool, RegistryFile, TaskGroup } from '@llmpool/schema'
import type { KeyPath } from './key-path'
import { getOwn } from './own'
import type { ConfigProblemCode } from './problems'
import { didYouMean } from './suggest'
import type { ResolvedWrapper } from './types'

/** `group.echelon` → [group, echelon, false]; `group` → [group, undefined, false]; more dots → [.., .., true]. */
function splitReference(reference: string): [string, string | undefined, boolean] {
  const dot = reference.indexOf('.')
  if (dot === -1) return [reference, undefined, false]
  const echelon = reference.slice(dot + 1)
  return [reference.slice(0, dot), echelon, echelon.includes('.')]
}

type Owner = 'pool' | 'task_group' | 'wrapper' | 'registry'

export interface ReferenceCheck {
  registry: RegistryFile
  /** Enabled pools and task groups that resolved. */
  pools: Record<string, Pool>
  taskGroups: Record<string, TaskGroup>
  wrappers: Record<string, ResolvedWrapper>
  report(owner: Owner, name: string, path: KeyPath, code: ConfigProblemCode, message: string): void
}

/**
 * Every reference resolves to an enabled entry: pool → task groups, weight keys `group.echelon`, fallback_pools,
 * fallback_groups, wrapper targets, and the registry's `[dependencies]` (which must not loop).
 */
export function checkReferences(check: ReferenceCheck): void {
  const { registry, pools, taskGroups, wrappers, report } = check

  /** Reports a name that is not an enabled entry of `section`; true when it is one. */
  const resolve = (
    owner: Owner,
    ownerName: string,
    path: KeyPath,
    section: 'pools' | 'task_groups',
    target: string,
    what: string,
  ) => {
    const entry = getOwn(registry[section], target)
    if (!entry) {
      report(
        owner,
        ownerName,
        path,
        'unknown_reference',
        `${what} "${target}" is not registered${didYouMean(target, Object.keys(registry[section]))}`,
      )
      return false
    }
    if (!entry.enabled) {
      report(owner, ownerName, path, 'disabled_reference', `${what} "${target}" is disabled in _registry.toml`)
      return false
    }
    return true
  }

  for (const [name, pool] of Object.entries(pools)) {
    const seen = new Set<string>()
    pool.task_groups.forEach((group, index) => {
      if (seen.has(group))
        report('pool', name, ['pool', 'task_groups', index], 'invalid_value', `task group "${group}" is listed twice`)
      seen.add(group)
      resolve('pool', name, ['pool', 'task_groups', index], 'task_groups', group, 'task group')
    })
    for (const key of Object.keys(pool.rotation_strategy.options.weights)) {
      const path = ['pool', 'rotation_strategy', 'options', 'weights', key]
      const [group, echelon, rest] = splitReference(key)
      if (!group || !echelon || rest) {
        report('pool', name, path, 'invalid_value', `weight key "${key}" must be "task_group.echelon"`)
        continue
      }
      if (!pool.task_groups.includes(group)) {
        report(
          'pool',
          name,
          path,
          'unknown_reference',
          `weight key "${key}" names task group "${group}", which is not in this pool's task_groups`,
        )
        continue
      }
      const target = getOwn(taskGroups, group)
      if (target && !Object.hasOwn(target.echelons, echelon))
        report(
          'pool',
          name,
          path,
          'unknown_reference',
          `task group "${group}" has no echelon "${echelon}"${didYouMean(echelon, Object.keys(target.echelons))}`,
        )
    }
    pool.fallback.fallback_pools.forEach((target, index) => {
      const path = ['pool', 'fallback', 'fallback_pools', index]
      if (target === name) report('pool', name, path, 'invalid_value', 'a pool cannot fall back to itself')
      else resolve('pool', name, path, 'pools', target, 'pool')
    })
  }

  for (const [name, group] of Object.entries(taskGroups)) {
    group.fallback.fallback_groups.forEach((reference, index) => {
      const path = ['task_group', 'fallback', 'fallback_groups', index]
      const [groupName, echelon, rest] = splitReference(reference)
      if (!groupName || rest || echelon === '') {
        report('task_group', name, path, 'invalid_value', `"${reference}" must be "task_group" or "task_group.echelon"`)
        return
      }
      if (!resolve('task_group', name, path, 'task_groups', groupName, 'task group') || echelon === undefined) return
      const target = getOwn(taskGroups, groupName)
      if (target && !Object.hasOwn(target.echelons, echelon))
        report(
          'task_group',
          name,
          path,
          'unknown_reference',
          `task group "${groupName}" has no echelon "${echelon}"${didYouMean(echelon, Object.keys(target.echelons))}`,
        )
    })
  }

  for (const [name, wrapper] of Object.entries(wrappers)) {
    if (wrapper.type === 'pool')
      resolve('wrapper', name, ['wrappers', name, 'pool_name'], 'pools', wrapper.pool_name, 'pool')
    else
      resolve(
        'wrapper',
        name,
        ['wrappers', name, 'task_group_name'],
        'task_groups',
        wrapper.task_group_name,
        'task group',
      )
  }

  checkDependencies(check)
}

function checkDependencies({ registry, report }: ReferenceCheck): void {
  const entryOf = (name: string) =>
    getOwn(registry.pools, name) ?? getOwn(registry.task_groups, name) ?? getOwn(registry.wrappers, name)
  const registered = () => [
    ...Object.keys(registry.pools),
    ...Object.keys(registry.task_groups),
    ...Object.keys(registry.wrappers),
  ]
  for (const [name, needs] of Object.entries(registry.dependencies)) {
    const entry = entryOf(name)
    if (!entry) {
      report(
        'registry',
        name,
        ['dependencies', name],
        'unknown_reference',
        `"${name}" is not registered${didYouMean(name, registered())}`,
      )
      continue
    }
    if (!entry.enabled) continue
    needs.forEach((needed, index) => {
      const target = entryOf(needed)
      const path = ['dependencies', name, index]
      if (!target)
        report(
          'registry',
          name,
          path,
          'unknown_reference',
          `"${needed}" is not registered${didYouMean(needed, registered())}`,
        )
      else if (!target.enabled)
        report('registry', name, path, 'disabled_reference', `"${name}" depends on "${needed}", which is disabled`)
    })
  }
  // Cycles: depth-first search over the declared graph.
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name]
      report(
        'registry',
        cycle[0]!,
        ['dependencies', cycle[0]!],
        'dependency_cycle',
        `dependency cycle: ${cycle.join(' → ')}`,
      )
      return
    }
    state.set(name, 'visiting')
    for (const needed of getOwn(registry.dependencies, name) ?? []) visit(needed, [...trail, name])
    state.set(name, 'done')
  }
  for (const name of Object.keys(registry.dependencies)) visit(name, [])
}
