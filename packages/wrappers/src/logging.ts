import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import type { RouterEvent } from '@llmpool/router'
import type { PoolWrappersGlobal } from '@llmpool/schema'

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
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie', 'set-cookie', 'x-goog-api-key']
const SECRET_PATHS = [
  ...SECRET_HEADERS.map((header) => `request.headers["${header}"]`),
  '*.apiKey',
  '*.api_key',
  '*.authorization',
]
const CONTENT_PATHS = ['request.prompt', 'response.content', 'response.text']

type PinoFactory = (options: object, destination: LogDestination) => PoolLogger

async function loadPino(): Promise<PinoFactory> {
  try {
    const module = (await import('pino')) as unknown as { pino?: PinoFactory; default?: PinoFactory }
    return (module.pino ?? module.default)!
  } catch (error) {
    throw new Error('logging of @llmpool/wrappers ([global.logging] request or response logging) needs the optional package pino: npm install pino', {
      cause: error,
    })
  }
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
      return out.write(`${when} ${levels[level as number] ?? String(level)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`)
    },
  }
}

/** A pino logger for `[global.logging]`: level, json or text, secrets (and, with `redactContent`, content) redacted. */
export async function createLogger(logging: PoolWrappersGlobal['logging'], redactContent: boolean, destination: LogDestination): Promise<PoolLogger> {
  const pino = await loadPino()
  const paths = redactContent ? [...SECRET_PATHS, ...CONTENT_PATHS] : SECRET_PATHS
  const out = logging.format === 'text' ? textDestination(destination) : destination
  return pino({ name: 'llmpool', level: logging.level, redact: { paths, censor: REDACTED }, base: undefined }, out)
}

/** The request as logged: lower-cased headers (credentials redacted by the logger), content under `prompt`. */
export function requestRecord(call: LanguageModelV3CallOptions, redactContent: boolean) {
  const headers = call.headers
    ? Object.fromEntries(
        Object.entries(call.headers).map(([name, value]) => [name.toLowerCase(), SECRET_HEADERS.includes(name.toLowerCase()) ? REDACTED : value]),
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

/** Router events worth a line: retries, fallbacks, rate limiting, breaker and health changes. */
export function logRouterEvent(logger: PoolLogger, event: RouterEvent): void {
  switch (event.type) {
    case 'attempt_end':
      if (!event.ok) logger.debug({ event: event.type, requestId: event.requestId, instance: event.instance, retry: event.retry, error: event.error }, 'attempt failed')
      return
    case 'retry':
      logger.info({ event: event.type, requestId: event.requestId, instance: event.instance, retry: event.retry, delayMs: event.delayMs, kind: event.kind }, 'retry')
      return
    case 'fallback':
      logger.info({ event: event.type, requestId: event.requestId, target: event.target, from: event.from, kind: event.kind, toPool: event.toPool }, 'fallback')
      return
    case 'rate_limited':
      logger.info({ event: event.type, requestId: event.requestId, target: event.target, retryAfterMs: event.retryAfterMs, waiting: event.waiting }, 'rate limited')
      return
    case 'breaker_change':
      logger.warn({ event: event.type, instance: event.instance, from: event.from, to: event.to, reason: event.reason }, 'breaker state changed')
      return
    case 'health_change':
      logger.warn({ event: event.type, instance: event.instance, healthy: event.healthy, reason: event.reason }, 'health changed')
      return
    default:
      return
  }
}
