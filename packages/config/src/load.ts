import path from 'node:path'
import { ConfigError, type ConfigProblem } from './problems'
import { resolveConfiguration } from './resolve'
import { SourceFiles } from './source-files'
import type { ResolvedConfig } from './types'

export interface LoadConfigOptions {
  /** The configuration directory, holding `_registry.toml`. */
  directory: string
  /**
   * Environment overlay: with `production`, `x.production.toml` is merged over `x.toml` wherever it exists.
   * Default: the `LLMPOOL_ENV` variable of `env`.
   */
  environment?: string
  /** Variables for `${VAR}` injection. Default: `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Overrides the registry's `config_validation`. */
  validation?: 'strict' | 'lenient'
}

/** What one load found: the configuration when valid, and every problem either way. */
export interface ConfigCheck {
  /** The resolved configuration; undefined when there are errors. */
  config: ResolvedConfig | undefined
  /** Every error found, across all files. */
  errors: ConfigProblem[]
  /** Warnings (unknown keys under `lenient`, defaults used). */
  warnings: ConfigProblem[]
}

const ENVIRONMENT_NAME = /^[A-Za-z0-9_-]+$/

export function normalizeOptions(options: LoadConfigOptions) {
  const env = options.env ?? process.env
  const environment = options.environment ?? (env.LLMPOOL_ENV || undefined)
  if (environment !== undefined && !ENVIRONMENT_NAME.test(environment))
    throw new RangeError(`environment must be letters, digits, "_" or "-" (got ${JSON.stringify(environment)})`)
  if (options.validation !== undefined && options.validation !== 'strict' && options.validation !== 'lenient')
    throw new RangeError(`validation must be "strict" or "lenient" (got ${JSON.stringify(options.validation)})`)
  return { directory: path.resolve(options.directory), environment, env, validation: options.validation }
}

/** Loads and checks a configuration directory, returning every problem rather than throwing. */
export function checkConfig(options: LoadConfigOptions): ConfigCheck {
  const normalized = normalizeOptions(options)
  const result = resolveConfiguration(new SourceFiles(normalized.directory, false), normalized)
  return { config: result.config, errors: result.errors, warnings: result.warnings }
}

/**
 * Loads a configuration directory: registry, enabled files, validation, references, env injection, inheritance,
 * overlays, defaults. Resolves to one deeply frozen configuration; rejects with a `ConfigError` listing every problem.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const result = checkConfig(options)
  if (!result.config) throw new ConfigError(result.errors, result.warnings)
  return result.config
}
