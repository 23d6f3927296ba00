export { ConfigError, type ConfigProblem, type ConfigProblemCode } from './problems'
export { checkConfig, type ConfigCheck, loadConfig, type LoadConfigOptions } from './load'
export { isSecretKey, redact, REDACTED } from './secrets'
export type { ConfigSource, ResolvedConfig, ResolvedWrapper } from './types'
