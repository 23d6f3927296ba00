import { Pool, TaskGroup } from '@llmpool/schema'

/** The two kinds of registered sections: a `[pool]` file and a `[task_group]` file. */
export type SectionKind = 'pool' | 'task_group'

export const SECTION_SCHEMA = { pool: Pool, task_group: TaskGroup }
/** The registry table that registers each kind. */
export const REGISTRY_SECTION: Record<SectionKind, 'pools' | 'task_groups'> = {
  pool: 'pools',
  task_group: 'task_groups',
}
/** How messages name each kind. */
export const KIND_WORD: Record<SectionKind, string> = { pool: 'pool', task_group: 'task group' }
