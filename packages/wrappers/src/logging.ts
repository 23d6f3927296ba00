import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import type { EntryServices, RouterEvent } from '@llmpool/router'
import { importOptional } from '@llmpool/schema'

/** The part of a pino logger the pool uses; a pino instance (or a child) fits. */
export interface PoolLogger {
  debug(object: object, message?: string): void
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

/** Where log lines go: anything with `write(line)` (a stream, `process.stdout`, a test collector). */
export interface LogDestination {
  write(line: string): unknown
}

export const REDACTED = '[redacted]'
/** Header names that carry credentials; headers are logged with lower-cased names, so these paths always match. */
const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
  'x-goog-api-key',
]
const SECRET_PATHS = [
  ...SECRET_HEADERS.map((header) => `request.headers["${header}"]`),
  '*.apiKey',
  '*.api_key',
  '*.api_keys',
  '*.authorization',
]
const CONTENT_PATHS = ['request.prompt', 'response.content', 'response.text']

type PinoFactory = (options: object, destination: LogDestination) => PoolLogger

/** pino, imported on first need; fails with what to install. */
export async function loadPino(): Promise<PinoFactory> {
  const feature = 'logging of @llmpool/wrappers ([global.logging] request or response logging)'
  const module = (await importOptional('pino', feature, () => import('pino'))) as unknown as {
    pino?: PinoFactory
    default?: PinoFactory
  }
  return (module.pino ?? module.default)!
}

/** `format = "text"`: one readable line per record, without pino-pretty. */
export function textDestination(out: LogDestination): LogDestination {
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
  return {
    write(line: string) {
      let record: Record<string, unknown>
      try {
        record = JSON.parse(line) as Record<string, unknown>
      } catch {
        return out.write(line)
      }
      const { time, level, msg, pid: _pid, hostname: _hostname, ...rest } = record
      const fields = Object.entries(rest)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ')
      const when = typeof time === 'number' ? new Date(time).toISOString() : ''
      return out.write(
        `${when} ${levels[level as number] ?? String(level)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`,
      )
    },
  }
}

/**
 * The loggers of one pool: one pino logger per `[global.logging]` level and format in use (each wrappers file's own),
 * secrets (and, with `redactContent`, content) redacted. Or the caller's own logger for everything.
 */
export class Loggers {
  private readonly made = new Map<string, PoolLogger>()

  constructor(
    private readonly pino: PinoFactory | undefined,
    private readonly own: PoolLogger | undefined,
    private readonly redactContent: boolean,
    private readonly destination: LogDestination,
  ) {}

  /** The logger for an entry's `[global.logging]`; undefined when there is none to be had (pino not loaded). */
  of(logging: EntryServices['logging']): PoolLogger | undefined {
    if (this.own) return this.own
    if (!this.pino) return undefined
    const key = `${logging.level}:${logging.format}`
    let logger = this.made.get(key)
    if (!logger) {
      const paths = this.redactContent ? [...SECRET_PATHS, ...CONTENT_PATHS] : SECRET_PATHS
      const out = logging.format === 'text' ? textDestination(this.destination) : this.destination
      logger = this.pino(
        { name: 'llmpool', level: logging.level, redact: { paths, censor: REDACTED }, base: undefined },
        out,
      )
      this.made.set(key, logger)
    }
    return logger
  }
}

/** The request as logged: lower-cased headers (credentials redacted by the logger), content under `prompt`. */
export function requestRecord(call: LanguageModelV3CallOptions, redactContent: boolean) {
  const headers = call.headers
    ? Object.fromEntries(
        Object.entries(call.headers).map(([name, value]) => [
          name.toLowerCase(),
          SECRET_HEADERS.includes(name.toLowerCase()) ? REDACTED : value,
        ]),
      )
    : undefined
  return {
    messages: call.prompt.length,
    tools: call.tools?.map((tool) => tool.name),
    toolChoice: call.toolChoice?.type === 'tool' ? `tool:${call.toolChoice.toolName}` : call.toolChoice?.type,
    responseFormat: call.responseFormat?.type,
    maxOutputTokens: call.maxOutputTokens,
    temperature: call.temperature,
    headers,
    prompt: redactContent ? REDACTED : call.prompt,
  }
}

/** Router events worth a line: failed attempts, retries, fallbacks, hedges, rate limiting, cooldowns, breaker and health changes. */
export function logRouterEvent(logger: PoolLogger, event: RouterEvent): void {
  switch (event.type) {
    case 'attempt_end':
      if (!event.ok)
        logger.debug(
          {
            event: event.type,
            requestId: event.requestId,
            instance: event.instance,
            retry: event.retry,
            error: event.error,
            cancelled: event.cancelled,
          },
          'attempt failed',
        )
      return
    case 'retry':
      logger.info(
        {
          event: event.type,
          requestId: event.requestId,
          instance: event.instance,
          retry: event.retry,
          delayMs: event.delayMs,
          kind: event.kind,
        },
        'retry',
      )
      return
    case 'fallback':
      logger.info(
        {
          event: event.type,
          requestId: event.requestId,
          target: event.target,
          from: event.from,
          kind: event.kind,
          toPool: event.toPool,
        },
        'fallback',
      )
      return
    case 'hedge':
      logger.info(
        {
          event: event.type,
          requestId: event.requestId,
          target: event.target,
          from: event.from,
          to: event.to,
          afterMs: event.afterMs,
        },
        'hedge',
      )
      return
    case 'rate_limited':
      logger.info(
        {
          event: event.type,
          requestId: event.requestId,
          target: event.target,
          retryAfterMs: event.retryAfterMs,
          waiting: event.waiting,
        },
        'rate limited',
      )
      return
    case 'cooldown':
      logger.warn(
        {
          event: event.type,
          instance: event.instance,
          kind: event.kind,
          durationMs: event.durationMs,
          reason: event.reason,
          remote: event.remote,
        },
        'instance resting',
      )
      return
    case 'breaker_change':
      logger.warn(
        { event: event.type, instance: event.instance, from: event.from, to: event.to, reason: event.reason },
        'breaker state changed',
      )
      return
    case 'health_change':
      logger.warn(
        { event: event.type, instance: event.instance, healthy: event.healthy, reason: event.reason },
        'health changed',
      )
      return
    default:
      return
  }
}
