import Type, { type Static } from 'typebox'
import { Flag, Name, NAME_PATTERN, OneOf, Seconds } from './common'

/** One registered file: `fast_pool = { file = "pools/fast-pool.toml", enabled = true }`. */
export const RegistryEntry = Type.Object(
  {
    file: Type.String({ minLength: 1, description: 'Path of the file, relative to the configuration directory.' }),
    enabled: Flag('Disabled entries are not loaded and cannot be referenced.', true),
    description: Type.Optional(Type.String({ description: 'What this entry is for.' })),
  },
  { additionalProperties: false },
)
export type RegistryEntry = Static<typeof RegistryEntry>

const Entries = (what: string) =>
  Type.Record(Type.String({ pattern: NAME_PATTERN }), RegistryEntry, {
    description: `Registered ${what}, by name.`,
    default: {},
  })

/** `[registry]`: what this configuration is. */
export const RegistryInfo = Type.Object(
  {
    version: Type.Optional(Type.String({ description: 'Version of this configuration (semantic versioning).' })),
    description: Type.Optional(Type.String({ description: 'What this configuration is for.' })),
  },
  { additionalProperties: false, default: {} },
)
export type RegistryInfo = Static<typeof RegistryInfo>

/** `[global]` of the registry: how the configuration is loaded. */
export const RegistryGlobal = Type.Object(
  {
    config_validation: OneOf(['strict', 'lenient'], 'strict: unknown keys are errors; lenient: they are warnings.', 'strict'),
    enable_hot_reload: Flag('Watch the configuration directory and apply valid changes while running.', false),
    reload_interval: Seconds('Polling interval (seconds) that backs up file-system events when hot reload is on.', 300),
    cache_enabled: Flag('Keep parsed files between reloads, so a reload reads and parses only the files that changed.', true),
    use_defaults_on_failure: Flag(
      'An invalid value of a key that has a documented default is replaced by that default and reported as a warning.',
      false,
    ),
  },
  { additionalProperties: false, default: {} },
)
export type RegistryGlobal = Static<typeof RegistryGlobal>

/** `_registry.toml`: which files make up the configuration, and how it is loaded. */
export const RegistryFile = Type.Object(
  {
    registry: RegistryInfo,
    pools: Entries('pools'),
    task_groups: Entries('task groups'),
    wrappers: Entries('wrapper files'),
    global: RegistryGlobal,
    dependencies: Type.Record(Type.String({ pattern: NAME_PATTERN }), Type.Array(Name('A registered entry')), {
      description: 'What each registered entry needs; every name must be registered and enabled.',
      default: {},
    }),
  },
  { additionalProperties: false, title: 'llmpool registry (_registry.toml)' },
)
export type RegistryFile = Static<typeof RegistryFile>
