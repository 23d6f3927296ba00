import Type, { type Static } from 'typebox'
import { Flag, Name, NAME_PATTERN, OneOf, Seconds } from './common'

/** One registered file: `fast_pool = { file = "pools/fast-pool.toml", enabled = true }`. */
export const RegistryEntry = Type.Object(
  {
    file: Type.String({
      minLength: 1,
      description: 'Path of the file, relative to the configuration directory; it must stay inside it.',
    }),
    enabled: Flag(
      'false: the file is not part of the configuration and nothing may refer to it; a disabled pool or task group can still be an `inherits_from` base (a template).',
      true,
    ),
    description: Type.Optional(
      Type.String({
        description: 'What this entry is for; not interpreted.',
        examples: ['Pools for interactive chat'],
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "One registered file. The name (the key) is how applications and the other files refer to the entry: letters, digits, `_` and `-`, starting with a letter, unique across pools, task groups and wrappers files. The file's own `name` must equal it.",
  },
)
export type RegistryEntry = Static<typeof RegistryEntry>

const Entries = (what: string) =>
  Type.Record(Type.String({ pattern: NAME_PATTERN }), RegistryEntry, {
    description: `Registered ${what}, by name.`,
    default: {},
  })

/** `[registry]`: what this configuration is. */
export const RegistryInfoTable = Type.Object(
  {
    version: Type.Optional(
      Type.String({
        description:
          'Version of this configuration (semantic versioning); shown by `llmpool explain` and in the reload history.',
      }),
    ),
    description: Type.Optional(Type.String({ description: 'What this configuration is for; not interpreted.' })),
  },
  { additionalProperties: false, default: {}, description: 'What this configuration is.' },
)
export type RegistryInfoTable = Static<typeof RegistryInfoTable>

/** `[global]` of the registry: how the configuration is loaded. */
export const RegistryGlobal = Type.Object(
  {
    config_validation: OneOf(
      ['strict', 'lenient'],
      '`strict`: an unknown key is an error; `lenient`: a warning, and the key is dropped. `llmpool validate --strict` / `--lenient` override it.',
      'strict',
    ),
    enable_hot_reload: Flag(
      'Watch the configuration directory and apply valid changes while running (`createConfigStore`, the gateway); an invalid change is rejected and the running configuration stays (docs/hot-reload.md).',
      false,
    ),
    reload_interval: Seconds('Polling interval (seconds) that backs up file-system events when hot reload is on.', 300),
    cache_enabled: Flag(
      'Keep parsed files between reloads, so that a reload reads and parses only the files whose size, mtime or inode changed.',
      true,
    ),
    use_defaults_on_failure: Flag(
      'An invalid value of a key that has a default is replaced by that default and reported as a `default_used` warning. Required keys, unknown keys, references and syntax errors still fail.',
      false,
    ),
  },
  { additionalProperties: false, default: {}, description: 'How the configuration is loaded.' },
)
export type RegistryGlobal = Static<typeof RegistryGlobal>

/** `_registry.toml`: which files make up the configuration, and how it is loaded. */
export const RegistryFile = Type.Object(
  {
    registry: RegistryInfoTable,
    pools: Entries('pools'),
    task_groups: Entries('task groups'),
    wrappers: Entries('wrapper files'),
    global: RegistryGlobal,
    dependencies: Type.Record(
      Type.String({ pattern: NAME_PATTERN }),
      Type.Array(Name('A registered entry'), { description: 'The entries that entry NAME needs.' }),
      {
        description:
          'What each registered entry needs, by name: `NAME = [names]`. Every name must be registered, and enabled when the entry that needs it is; no cycles. Checked only: the loader finds references on its own.',
        default: {},
      },
    ),
  },
  {
    additionalProperties: false,
    title: 'llmpool registry (_registry.toml)',
    description:
      '`_registry.toml`, at the root of the configuration directory: which files make up the configuration, and how it is loaded.',
  },
)
export type RegistryFile = Static<typeof RegistryFile>
