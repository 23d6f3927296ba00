import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AttemptRecord } from '@llmpool/router'

/** The part of a pino logger the access log uses. A line's fields that a request did not set are `undefined`. */
export interface AccessLogger {
  info(object: object, message?: string): void
  /**
   * Optional: writes one access line from the record's fields as JSON members (`"event":"request","method":"POST",…`,
   * in the order `info` would get them, those not set left out), adding its own (level, time, message). For a logger
   * whose line format is known, such as the bin's (run.ts): serializing the object was about half of a line's cost.
   * `info` is not called when this is present.
   */
  line?(fields: string): void
}

export interface AccessLogOptions {
  logger: AccessLogger
  /** Also log the request's messages and the answer's text. Default false: never prompt or answer text. */
  bodies?: boolean
}

/** What a request handler learned about its request, for the access log line. */
export interface AccessRecord {
  method: string
  path: string
  startedAt: number
  /** The wrapper, pool or task group asked for. */
  target?: string
  stream?: boolean
  /** The instance that answered. */
  instance?: string
  attempts?: number
  fallbacks?: number
  inputTokens?: number
  outputTokens?: number
  /** Only with `bodies`. */
  prompt?: unknown
}

/** How many times a request moved on to another instance (hedged calls are not fallbacks). */
export function countFallbacks(attempts: readonly AttemptRecord[]): number {
  let fallbacks = 0
  let previous: string | undefined
  for (const attempt of attempts) {
    if (attempt.hedge) continue
    if (previous !== undefined && attempt.instance !== previous) fallbacks++
    previous = attempt.instance
  }
  return fallbacks
}

/** Where a response keeps its record: a property of its own (a WeakMap entry per request cost more). */
const RECORD = Symbol('llmpool.accessRecord')
type Recorded = ServerResponse & { [RECORD]?: AccessRecord | undefined }

/**
 * One line per request, written when its response closes (finished, failed, or cut by the client). The line is an
 * object of one shape, its fields in one order (pino leaves out those a request did not set): building it with a
 * rest and a spread cost about 15 % of what pino then takes to write it.
 */
export class AccessLog {
  private readonly logger: AccessLogger
  readonly bodies: boolean

  constructor(options: AccessLogOptions) {
    this.logger = options.logger
    this.bodies = options.bodies === true
  }

  start(request: IncomingMessage, response: ServerResponse, path: string): void {
    ;(response as Recorded)[RECORD] = { method: request.method ?? 'GET', path, startedAt: performance.now() }
  }

  record(response: ServerResponse): AccessRecord | undefined {
    return (response as Recorded)[RECORD]
  }

  write(response: ServerResponse): void {
    const record = (response as Recorded)[RECORD]
    if (!record) return
    ;(response as Recorded)[RECORD] = undefined
    // Probes and scrapes are not traffic.
    if (record.path === '/healthz' || record.path === '/readyz' || record.path === '/metrics') return
    const status = response.writableFinished ? response.statusCode : 499
    const latencyMs = Math.round((performance.now() - record.startedAt) * 10) / 10
    if (this.logger.line) return this.logger.line(accessFields(record, status, latencyMs))
    this.logger.info(
      {
        event: 'request',
        method: record.method,
        path: record.path,
        target: record.target,
        stream: record.stream,
        prompt: record.prompt,
        instance: record.instance,
        attempts: record.attempts,
        fallbacks: record.fallbacks,
        inputTokens: record.inputTokens,
        outputTokens: record.outputTokens,
        status,
        latencyMs,
      },
      'request',
    )
  }
}

/** The fields of an access line as JSON members, in the order of the object `info` gets; unset fields left out. */
export function accessFields(record: AccessRecord, status: number, latencyMs: number): string {
  let fields = `"event":"request","method":${JSON.stringify(record.method)},"path":${JSON.stringify(record.path)}`
  if (record.target !== undefined) fields += `,"target":${JSON.stringify(record.target)}`
  if (record.stream !== undefined) fields += `,"stream":${record.stream}`
  if (record.prompt !== undefined) fields += `,"prompt":${JSON.stringify(record.prompt) ?? 'null'}`
  if (record.instance !== undefined) fields += `,"instance":${JSON.stringify(record.instance)}`
  if (record.attempts !== undefined) fields += `,"attempts":${number(record.attempts)}`
  if (record.fallbacks !== undefined) fields += `,"fallbacks":${number(record.fallbacks)}`
  if (record.inputTokens !== undefined) fields += `,"inputTokens":${number(record.inputTokens)}`
  if (record.outputTokens !== undefined) fields += `,"outputTokens":${number(record.outputTokens)}`
  return `${fields},"status":${number(status)},"latencyMs":${number(latencyMs)}`
}

/** A number as JSON writes it (not finite: null, as pino does). */
const number = (value: number): string => (Number.isFinite(value) ? String(value) : 'null')
