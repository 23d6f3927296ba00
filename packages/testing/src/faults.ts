import { validateHeaderName, validateHeaderValue } from 'node:http'
import type { FaultsIssue } from './invalid-faults-error'

/**
 * What the mock upstream does to one request instead of answering it normally. Fields combine: `latencyMs` (and
 * `jitterMs`, `chunkDelayMs`) shape the timing, and at most one outcome (`status`, `hang`, `streamCutAfterChunks`,
 * `errorInBody`, `quotaExhausted`) replaces the normal answer. A fault with no outcome answers normally, late.
 */
export interface Fault {
  /** Answers with this HTTP status (200–599) and an error body in the API's shape (OpenAI or Anthropic). */
  status?: number
  /** The body sent with `status`: an object is sent as JSON, a string as text. Default: the API's error shape. */
  body?: unknown
  /** Sets the `retry-after` header, in seconds. */
  retryAfter?: number
  /** Sets the `retry-after-ms` header, in milliseconds. */
  retryAfterMs?: number
  /**
   * Extra response headers, sent as written (`x-ratelimit-reset-requests: "6m0s"`, `retry-after` as an HTTP date).
   * Names are case-insensitive: `retryAfter` and `retryAfterMs` replace a header of the same name.
   */
  headers?: Readonly<Record<string, string>>
  /** Waits this long before answering (or before failing). */
  latencyMs?: number
  /** Adds a seeded uniform random delay in [0, jitterMs) to `latencyMs`. */
  jitterMs?: number
  /** Waits this long between the chunks of a streamed answer. */
  chunkDelayMs?: number
  /** Never answers: the request ends when the client aborts (recorded as `aborted`) or the server closes. */
  hang?: boolean
  /**
   * Streams this many content chunks (text or tool-argument deltas), then destroys the socket: no final chunk, no
   * `[DONE]`. 0 cuts right after the first (role) event. A non-streaming request gets its headers and half its body.
   */
  streamCutAfterChunks?: number
  /** HTTP 200 whose body is an error (`{ "error": {...} }`; a streamed request gets it as its only event). */
  errorInBody?: boolean
  /**
   * OpenAI: 429 with `code: "insufficient_quota"`. Anthropic: 400 `invalid_request_error` "credit balance is too
   * low", as the real APIs answer.
   */
  quotaExhausted?: boolean
}

/** A fault with the conditions under which it applies. */
export interface FaultRule extends Fault {
  /** Probability (0–1) that the rule applies to a request, drawn from the upstream's seeded random. Default 1. */
  rate?: number
  /** Applies to the next `times` requests it matches only, then never again. Default: forever. */
  times?: number
}

/** Outcomes consumed in order, one per request; `'ok'` (or `{}`) answers normally. Once used up, it no longer applies. */
export interface FaultSequence {
  /** The outcomes, in order. */
  sequence: readonly (Fault | 'ok')[]
}

/** One rule of a model's fault list. */
export type FaultSpec = FaultRule | FaultSequence

/** What `setFaults()` takes: one rule or a list, evaluated in order; the first that applies decides. */
export type Faults = FaultSpec | readonly FaultSpec[]

/** The outcome kinds, as recorded on each request (`RecordedRequest.fault`). */
export type FaultKind = 'status' | 'hang' | 'stream_cut' | 'error_in_body' | 'quota_exhausted' | 'latency'

const OUTCOMES = ['status', 'hang', 'streamCutAfterChunks', 'errorInBody', 'quotaExhausted'] as const
const FAULT_KEYS = new Set<string>([
  ...OUTCOMES,
  'body',
  'retryAfter',
  'retryAfterMs',
  'headers',
  'latencyMs',
  'jitterMs',
  'chunkDelayMs',
])
const RULE_KEYS = new Set<string>([...FAULT_KEYS, 'rate', 'times'])

/** The kind of outcome a fault produces, for the request record. */
export function faultKind(fault: Fault): FaultKind {
  if (fault.hang) return 'hang'
  if (fault.streamCutAfterChunks !== undefined) return 'stream_cut'
  if (fault.errorInBody) return 'error_in_body'
  if (fault.quotaExhausted) return 'quota_exhausted'
  if (fault.status !== undefined) return 'status'
  return 'latency'
}

/** Checks `faults` and returns it as a list; every problem is reported, each with its path under `path`. */
export function checkFaults(faults: unknown, path: string, issues: FaultsIssue[]): FaultSpec[] {
  const list = Array.isArray(faults) ? faults : [faults]
  list.forEach((spec, index) => checkSpec(spec, Array.isArray(faults) ? `${path}[${index}]` : path, issues))
  return list as FaultSpec[]
}

function checkSpec(spec: unknown, path: string, issues: FaultsIssue[]): void {
  if (!isRecord(spec)) {
    issues.push({ path, message: 'a fault rule must be a table/object' })
    return
  }
  if ('sequence' in spec) {
    for (const key of Object.keys(spec)) {
      if (key !== 'sequence') issues.push({ path: `${path}.${key}`, message: 'a sequence rule takes no other key' })
    }
    if (!Array.isArray(spec.sequence)) {
      issues.push({ path: `${path}.sequence`, message: 'must be a list of faults or "ok"' })
      return
    }
    spec.sequence.forEach((step: unknown, index: number) => {
      if (step === 'ok') return
      checkFault(step, `${path}.sequence[${index}]`, FAULT_KEYS, issues)
    })
    return
  }
  checkFault(spec, path, RULE_KEYS, issues)
  if (spec.rate !== undefined && !(typeof spec.rate === 'number' && spec.rate >= 0 && spec.rate <= 1)) {
    issues.push({ path: `${path}.rate`, message: 'must be a number from 0 to 1' })
  }
  if (spec.times !== undefined && !isCount(spec.times)) {
    issues.push({ path: `${path}.times`, message: 'must be a whole number ≥ 0' })
  }
}

function checkFault(fault: unknown, path: string, allowed: ReadonlySet<string>, issues: FaultsIssue[]): void {
  if (!isRecord(fault)) {
    issues.push({ path, message: 'a fault must be a table/object (or "ok" inside a sequence)' })
    return
  }
  for (const key of Object.keys(fault)) {
    if (!allowed.has(key))
      issues.push({ path: `${path}.${key}`, message: `unknown key; expected one of ${[...allowed].join(', ')}` })
  }
  const outcomes = OUTCOMES.filter((key) => fault[key] !== undefined && fault[key] !== false)
  if (outcomes.length > 1) issues.push({ path, message: `choose one outcome, not ${outcomes.join(' and ')}` })
  const { status } = fault
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599)) {
    issues.push({ path: `${path}.status`, message: 'must be an HTTP status from 200 to 599' })
  }
  for (const key of ['retryAfter', 'retryAfterMs', 'latencyMs', 'jitterMs', 'chunkDelayMs'] as const) {
    const value = fault[key]
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      issues.push({ path: `${path}.${key}`, message: 'must be a number ≥ 0' })
    }
  }
  if (fault.streamCutAfterChunks !== undefined && !isCount(fault.streamCutAfterChunks)) {
    issues.push({ path: `${path}.streamCutAfterChunks`, message: 'must be a whole number ≥ 0' })
  }
  for (const key of ['hang', 'errorInBody', 'quotaExhausted'] as const) {
    if (fault[key] !== undefined && typeof fault[key] !== 'boolean')
      issues.push({ path: `${path}.${key}`, message: 'must be true or false' })
  }
  const { headers } = fault
  if (headers === undefined) return
  if (!(isRecord(headers) && Object.values(headers).every((value) => typeof value === 'string'))) {
    issues.push({ path: `${path}.headers`, message: 'must map header names to strings' })
    return
  }
  for (const [name, value] of Object.entries(headers)) {
    // Checked here, so that a bad header is a configuration error rather than a crash while answering.
    try {
      validateHeaderName(name)
      validateHeaderValue(name, value as string)
    } catch (error) {
      issues.push({ path: `${path}.headers.${name}`, message: (error as Error).message })
    }
  }
}

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
