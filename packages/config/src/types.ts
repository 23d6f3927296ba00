import type {
  Pool,
  PoolWrapper,
  PoolWrappersGlobal,
  RegistryFile,
  TaskGroup,
  TaskGroupWrapper,
  TaskGroupWrappersGlobal,
} from '@llmpool/schema'

/** A wrapper as resolved: its own keys, the file it comes from, and the `[global]` settings that apply to it. */
export type ResolvedWrapper =
  | (PoolWrapper & { file: string; global: PoolWrappersGlobal })
  | (TaskGroupWrapper & { file: string; global: TaskGroupWrappersGlobal })

/** Where a resolved configuration comes from. */
export interface ConfigSource {
  /** Absolute configuration directory. */
  directory: string
  /** Environment overlay applied (`production`), if any. */
  environment: string | undefined
  /** SHA-256 of every file read (paths and contents) and the environment: equal hashes, equal configurations. */
  hash: string
  /** File of each pool, task group and wrapper, relative to the directory. */
  files: {
    pools: Readonly<Record<string, string>>
    task_groups: Readonly<Record<string, string>>
    wrappers: Readonly<Record<string, string>>
  }
}

/**
 * One resolved configuration: env injected, inheritance and overlays applied, defaults filled in, every reference
 * checked. Deeply frozen. Keys are the TOML key names. Only enabled pools, task groups and wrappers appear.
 * `JSON.stringify` and `util.inspect` show it with secrets redacted; the values themselves are real.
 */
export interface ResolvedConfig {
  /** The registry, with defaults. */
  readonly registry: RegistryFile
  readonly pools: Readonly<Record<string, Pool>>
  readonly task_groups: Readonly<Record<string, TaskGroup>>
  readonly wrappers: Readonly<Record<string, ResolvedWrapper>>
  readonly source: ConfigSource
}
