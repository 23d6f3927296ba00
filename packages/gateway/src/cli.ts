// The command line of `llmpool-gateway` (and `llmpool serve`): flags, their LLMPOOL_* environment variables, help.
// Parsing is separate from running so both are testable without starting a process.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { LLMPoolError } from '@llmpool/schema'
import type { GatewayOptions } from './server'

/** Exit codes, as the `llmpool` CLI's: 0 ok, 1 invalid configuration, 2 usage error or failure. */
export const GATEWAY_EXIT_CODES = { ok: 0, invalid: 1, usage: 2 } as const

export type LogFormat = 'json' | 'pretty'
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** What the command line asked for: the gateway's options plus how to log. */
export interface GatewayCommand {
  options: GatewayOptions & { config: string }
  logLevel: LogLevel
  logFormat: LogFormat
  /** Write prompts and answers into the access log (off by default). */
  logBodies: boolean
}

const usageMarker = 'llmpool.error.GatewayUsageError'
const usageSymbol = Symbol.for(usageMarker)

/** A mistake on the command line or in an LLMPOOL_* variable: one line on stderr, exit code 2. */
export class GatewayUsageError extends LLMPoolError<'gateway_usage'> {
  private readonly [usageSymbol] = true

  constructor(message: string) {
    super({ code: 'gateway_usage', message })
    this.name = 'GatewayUsageError'
  }

  static override isInstance(error: unknown): error is GatewayUsageError {
    return LLMPoolError.hasMarker(error, usageMarker)
  }
}

interface Flag {
  type: 'string' | 'boolean'
  env: string
  help: string
  value?: string
}

/** Every flag; each also reads from its environment variable when not given on the command line. */
const FLAGS: Record<string, Flag> = {
  config: {
    type: 'string',
    env: 'LLMPOOL_CONFIG',
    value: 'DIR',
    help: 'configuration directory (with _registry.toml); default ./configs/llms',
  },
  port: {
    type: 'string',
    env: 'LLMPOOL_PORT',
    value: 'N',
    help: 'port to listen on; default 8080 (0 picks a free one)',
  },
  host: {
    type: 'string',
    env: 'LLMPOOL_HOST',
    value: 'H',
    help: 'address to listen on; default 127.0.0.1 (0.0.0.0 for every interface)',
  },
  redis: {
    type: 'string',
    env: 'LLMPOOL_REDIS',
    value: 'URL',
    help: 'share limits, breakers and cooldowns with every gateway on this Redis',
  },
  'redis-prefix': {
    type: 'string',
    env: 'LLMPOOL_REDIS_PREFIX',
    value: 'P',
    help: 'key prefix in Redis; default llmpool',
  },
  'redis-lease-ttl': {
    type: 'string',
    env: 'LLMPOOL_REDIS_LEASE_TTL',
    value: 'MS',
    help: "how long a crashed gateway's concurrency permits outlive it",
  },
  'redis-on-unavailable': {
    type: 'string',
    env: 'LLMPOOL_REDIS_ON_UNAVAILABLE',
    value: 'MODE',
    help: 'fail-closed (default: 503) or fallback-memory',
  },
  watch: {
    type: 'boolean',
    env: 'LLMPOOL_WATCH',
    help: "hot-reload the configuration (default: the registry's enable_hot_reload)",
  },
  'no-watch': { type: 'boolean', env: 'LLMPOOL_NO_WATCH', help: 'never hot-reload, whatever the registry says' },
  'no-pass-through': {
    type: 'boolean',
    env: 'LLMPOOL_NO_PASS_THROUGH',
    help: 'convert every request through the AI SDK (slower; for debugging)',
  },
  'timeout-ms': {
    type: 'string',
    env: 'LLMPOOL_TIMEOUT_MS',
    value: 'MS',
    help: 'overall deadline of every request (wins over the files)',
  },
  'max-connections': {
    type: 'string',
    env: 'LLMPOOL_MAX_CONNECTIONS',
    value: 'N',
    help: 'most client connections at once; default 1024',
  },
  'max-body-bytes': {
    type: 'string',
    env: 'LLMPOOL_MAX_BODY_BYTES',
    value: 'N',
    help: 'largest request body; default 1048576',
  },
  'shutdown-timeout': {
    type: 'string',
    env: 'LLMPOOL_SHUTDOWN_TIMEOUT',
    value: 'MS',
    help: 'longest drain of in-flight requests on SIGTERM; default 10000',
  },
  'log-level': { type: 'string', env: 'LLMPOOL_LOG_LEVEL', value: 'L', help: `${LOG_LEVELS.join(', ')}; default info` },
  'log-format': { type: 'string', env: 'LLMPOOL_LOG_FORMAT', value: 'F', help: 'json (default) or pretty' },
  'log-bodies': {
    type: 'boolean',
    env: 'LLMPOOL_LOG_BODIES',
    help: 'put prompts and answers in the access log (off: never)',
  },
}

/** The help text of the command, under the name it was run as. */
export function gatewayUsage(program = 'llmpool-gateway'): string {
  const left = (name: string, flag: Flag) => `--${name}${flag.value ? ` ${flag.value}` : ''}`
  const width = Math.max(...Object.entries(FLAGS).map(([name, flag]) => left(name, flag).length))
  const envWidth = Math.max(...Object.values(FLAGS).map((flag) => flag.env.length))
  const lines = Object.entries(FLAGS).map(
    ([name, flag]) => `  ${left(name, flag).padEnd(width)}  ${flag.env.padEnd(envWidth)}  ${flag.help}`,
  )
  return `Usage: ${program} [options]

An OpenAI-compatible gateway (POST /v1/chat/completions, /v1/embeddings, /v1/messages; GET /v1/models) over the
pools, task groups and wrappers of a configuration directory. SIGINT / SIGTERM drain in-flight requests, then exit.

Options (each also read from its environment variable; the flag wins):
${lines.join('\n')}
  -h, --help
  --version

Clients authenticate with "Authorization: Bearer <token>" when LLMPOOL_GATEWAY_TOKEN is set (never a flag: flags
show in the process list). GET /healthz (liveness) and GET /readyz (readiness) need no token.

Exit codes: 0 stopped cleanly, 1 invalid configuration, 2 usage error or failure.
`
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off', ''])

function wholeNumber(
  flag: string,
  value: string | undefined,
  { min = 1, max = Number.MAX_SAFE_INTEGER } = {},
): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!(value.trim() !== '' && Number.isInteger(number) && number >= min && number <= max)) {
    throw new GatewayUsageError(
      `--${flag} (${FLAGS[flag]!.env}) takes a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, not "${value}"`,
    )
  }
  return number
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new GatewayUsageError(`--${flag} (${FLAGS[flag]!.env}) takes ${allowed.join(', ')}, not "${value}"`)
}

/**
 * Reads the command line, then the LLMPOOL_* variables for every flag not given. `help` / `version` when asked for;
 * throws `GatewayUsageError` on a mistake. Relative paths resolve from `cwd`.
 */
export function parseGatewayArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): GatewayCommand | 'help' | 'version' {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }]))
  let parsed: Record<string, string | boolean | undefined>
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      allowPositionals: false,
      strict: true,
    }).values
  } catch (error) {
    throw new GatewayUsageError((error as Error).message.replace(/\. To specify.*$/s, ''))
  }
  if (parsed.help) return 'help'
  if (parsed.version) return 'version'
  const value = (name: string): string | undefined => {
    const given = parsed[name]
    if (typeof given === 'string') return given
    if (given === true) return 'true'
    const fromEnv = env[FLAGS[name]!.env]
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
  }
  const flag = (name: string): boolean => {
    const raw = value(name)
    if (raw === undefined) return false
    const lower = raw.toLowerCase()
    if (TRUE.has(lower)) return true
    if (FALSE.has(lower)) return false
    throw new GatewayUsageError(`${FLAGS[name]!.env} takes true or false, not "${raw}"`)
  }
  if (flag('watch') && flag('no-watch')) throw new GatewayUsageError('--watch and --no-watch contradict each other')
  const port = wholeNumber('port', value('port'), { min: 0, max: 65_535 }) ?? 8080
  const timeoutMs = wholeNumber('timeout-ms', value('timeout-ms'))
  const redisLeaseTtlMs = wholeNumber('redis-lease-ttl', value('redis-lease-ttl'))
  const maxConnections = wholeNumber('max-connections', value('max-connections'))
  const maxBodyBytes = wholeNumber('max-body-bytes', value('max-body-bytes'))
  const shutdownTimeoutMs = wholeNumber('shutdown-timeout', value('shutdown-timeout'), { min: 0 })
  const onUnavailable = oneOf('redis-on-unavailable', value('redis-on-unavailable'), [
    'fail-closed',
    'fallback-memory',
  ] as const)
  const logLevel = oneOf('log-level', value('log-level'), LOG_LEVELS) ?? 'info'
  const logFormat = oneOf('log-format', value('log-format'), ['json', 'pretty'] as const) ?? 'json'
  const redis = value('redis')
  if (redis !== undefined && !/^rediss?:\/\//.test(redis))
    throw new GatewayUsageError(`--redis (LLMPOOL_REDIS) takes a redis:// or rediss:// URL`)
  const redisPrefix = value('redis-prefix')
  const watch = flag('watch') ? true : flag('no-watch') ? false : undefined
  return {
    options: {
      config: path.resolve(cwd, value('config') ?? 'configs/llms'),
      port,
      host: value('host') ?? '127.0.0.1',
      ...(redis ? { redis } : {}),
      ...(redisPrefix ? { redisPrefix } : {}),
      ...(watch !== undefined ? { watch } : {}),
      passThrough: !flag('no-pass-through'),
      ...(timeoutMs ? { router: { requestTimeoutMs: timeoutMs } } : {}),
      ...(redisLeaseTtlMs ? { redisLeaseTtlMs } : {}),
      ...(onUnavailable ? { redisOnUnavailable: onUnavailable } : {}),
      ...(maxConnections ? { maxConnections } : {}),
      ...(maxBodyBytes ? { maxBodyBytes } : {}),
      ...(shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs } : {}),
    },
    logLevel,
    logFormat,
    logBodies: flag('log-bodies'),
  }
}
