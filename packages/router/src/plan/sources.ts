import { originOf, type ResolvedConfig } from '@llmpool/config'
import type { Source } from './types'

/**
 * Where a value of the configuration comes from, for the plan's `sources`: `task-groups/fast-group.toml:33:
 * task_group.echelons.echelon1.timeout`, or `built-in default ([global] default_timeout)` when no file wrote it.
 * (`label` alone when the configuration was not loaded by `@llmpool/config`, e.g. made in code.)
 */
export function sourceOf(
  config: ResolvedConfig,
  section: 'pool' | 'task_group' | 'wrapper',
  name: string,
  path: readonly string[],
  label: string,
): Source {
  try {
    const origin = originOf(config, section, name, path)
    if ('default' in origin) return `built-in default (${label})`
    return `${origin.file}${origin.line === undefined ? '' : `:${origin.line}`}: ${label}`
  } catch {
    return label
  }
}
