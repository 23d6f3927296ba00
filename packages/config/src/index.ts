export { ConfigError, type ConfigProblem, type ConfigProblemCode } from './problems'
export { checkConfig, type ConfigCheck, loadConfig, type LoadConfigOptions } from './load'
export { isSecretKey, redact, REDACTED, redactUrl } from './secrets'
export { didYouMean, suggestions } from './suggest'
export type { ConfigSource, ResolvedConfig, ResolvedWrapper } from './types'
export { originOf, type ValueOrigin } from './origin-of'
export { type ConfigDiff, diffConfigs, type SectionDiff } from './diff'
export {
  type AppliedRecord,
  type ConfigEvent,
  type ConfigListener,
  type ConfigStats,
  type ConfigStore,
  type ConfigStoreOptions,
  createConfigStore,
  type RejectedRecord,
  type ReloadOutcome,
  type ReloadTrigger,
} from './store'
