import type { ResolvedConfig } from './types'

/** Names added, changed and removed in one section between two configurations. */
export interface SectionDiff {
  added: string[]
  changed: string[]
  removed: string[]
}

/** What a reload changed, so that the router keeps the state (breakers, limiters, health) of the rest. */
export interface ConfigDiff {
  pools: SectionDiff
  task_groups: SectionDiff
  wrappers: SectionDiff
  /** The registry itself changed (`[global]`, `[registry]`, entries, dependencies). */
  registry: boolean
}

/** Serializes raw values, secrets included and `toJSON` hooks ignored: two entries differ iff their texts differ. */
function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${fingerprint((value as Record<string, unknown>)[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'undefined'
}

function diffSection(
  previous: Readonly<Record<string, unknown>>,
  next: Readonly<Record<string, unknown>>,
): SectionDiff {
  const diff: SectionDiff = { added: [], changed: [], removed: [] }
  for (const name of Object.keys(next)) {
    if (!(name in previous)) diff.added.push(name)
    else if (previous[name] !== next[name] && fingerprint(previous[name]) !== fingerprint(next[name]))
      diff.changed.push(name)
  }
  for (const name of Object.keys(previous)) if (!(name in next)) diff.removed.push(name)
  return diff
}

export function diffConfigs(previous: ResolvedConfig, next: ResolvedConfig): ConfigDiff {
  return {
    pools: diffSection(previous.pools, next.pools),
    task_groups: diffSection(previous.task_groups, next.task_groups),
    wrappers: diffSection(previous.wrappers, next.wrappers),
    registry: fingerprint(previous.registry) !== fingerprint(next.registry),
  }
}

/** True when the diff changes nothing. */
export function isEmptyDiff(diff: ConfigDiff): boolean {
  const sections = [diff.pools, diff.task_groups, diff.wrappers]
  return (
    !diff.registry &&
    sections.every((section) => !section.added.length && !section.changed.length && !section.removed.length)
  )
}
