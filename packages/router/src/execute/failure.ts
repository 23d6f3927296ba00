import { classifyFailure, type FailureKind, statusOf } from '@llmpool/breaker'
import type { CooldownKind } from '../runtime/cooldown'
import type { InstanceRuntime } from '../runtime/instance'
import { retryAfterMs } from '../retry'

/**
 * Who a failure is on. Only `upstream` failures count against the instance (breaker, health, cooldown): what the
 * upstream did — its status, its network errors, its timeouts, a broken body from it.
 *
 * - `upstream`: the instance failed.
 * - `client`: the request cannot be sent as given (a prompt the provider cannot convert, an invalid argument): any
 *   instance would refuse it; the caller gets a 400.
 * - `local`: this process failed (out of file descriptors, a bug): the caller gets a 500; no instance is blamed.
 */
export type Blame = 'upstream' | 'client' | 'local'

/** Codes of errors this process causes itself, wherever they sit in a cause chain. */
const LOCAL_CODES = new Set([
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'ENOBUFS',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_OUT_OF_RANGE',
  'ERR_INVALID_URL',
])
/** AI SDK errors raised while converting the request, before anything is sent. */
const CLIENT_NAMES = new Set([
  'AI_InvalidPromptError',
  'AI_UnsupportedFunctionalityError',
  'AI_InvalidArgumentError',
  'AI_InvalidDataContentError',
  'AI_InvalidMessageRoleError',
  'AI_DownloadError',
  // An embedding batch larger than the model takes in one call (router.embed checks it first; a model of your own may too).
  'AI_TooManyEmbeddingValuesForCallError',
])
/** AI SDK errors about what the upstream sent back. */
const UPSTREAM_BODY_NAMES = new Set([
  'AI_JSONParseError',
  'AI_TypeValidationError',
  'AI_InvalidResponseDataError',
  'AI_EmptyResponseBodyError',
  'AI_NoContentGeneratedError',
])
const UPSTREAM_CODE =
  /^(E(CONN(REFUSED|RESET|ABORTED)|NOTFOUND|AI_AGAIN|PIPE|HOST(UNREACH|DOWN)|NET(UNREACH|DOWN)|PROTO|TIMEDOUT|SOCKETTIMEDOUT)|UND_ERR_|ERR_TLS|CERT_|UNABLE_TO_)/

/** Marks an error as the upstream's doing (a provider of your own may set it: `error[UPSTREAM_FAILURE] = true`). */
export const UPSTREAM_FAILURE = Symbol.for('llmpool.upstreamFailure')

function chain(error: unknown): Record<string | symbol, unknown>[] {
  const links: Record<string | symbol, unknown>[] = []
  let node = error
  for (let depth = 0; depth < 5 && typeof node === 'object' && node !== null; depth++) {
    links.push(node as Record<string | symbol, unknown>)
    const next = (node as { cause?: unknown; lastError?: unknown }).cause ?? (node as { lastError?: unknown }).lastError
    if (next === node) break
    node = next
  }
  return links
}

/** Who a failed call's error is on (see `Blame`); the attempt's own timeout is always the upstream's. */
export function blameOf(error: unknown): Blame {
  const links = chain(error)
  if (links.length === 0) return 'local'
  for (const link of links) {
    if (typeof link.code === 'string' && LOCAL_CODES.has(link.code)) return 'local'
    if (typeof link.errno === 'string' && LOCAL_CODES.has(link.errno)) return 'local'
  }
  for (const link of links) {
    if (link[UPSTREAM_FAILURE] === true) return 'upstream'
    const name = typeof link.name === 'string' ? link.name : ''
    if (CLIENT_NAMES.has(name)) return 'client'
    if (
      name === 'AI_APICallError' ||
      UPSTREAM_BODY_NAMES.has(name) ||
      name === 'StreamInterruptedError' ||
      name === 'TimeoutError'
    )
      return 'upstream'
    const status = statusOf(link)
    if (status !== undefined && status >= 400) return 'upstream'
    if (typeof link.code === 'string' && UPSTREAM_CODE.test(link.code)) return 'upstream'
  }
  const first = links[0]!
  if (first.name === 'TypeError' && /fetch failed|network|socket hang up/i.test(String(first.message)))
    return 'upstream'
  return 'local'
}

/** The cooldown a failure calls for: how long, why. Undefined: none. */
export interface CooldownDecision {
  ms: number
  kind: CooldownKind
  reason: string
}

/**
 * A 429 or 529 rests the instance for the time its upstream asked (`retry-after`, `retry-after-ms`, the rate-limit
 * reset headers), capped by `cooldown.max_time`, or `cooldown.default_time` when it asked nothing. A refused key
 * (401, 403) or a used-up quota rests it for `max_time`.
 */
export function cooldownFor(
  kind: FailureKind,
  error: unknown,
  instance: InstanceRuntime,
  now: number,
): CooldownDecision | undefined {
  const { defaultMs, maxMs } = instance.plan.cooldown
  const status = statusOf(error)
  const code = status === undefined ? '' : `${status} `
  if (kind === 'rate_limit' || kind === 'overloaded') {
    const hint = retryAfterMs(error, now)
    const ms = Math.min(maxMs, hint ?? defaultMs)
    const asked =
      hint === undefined
        ? `no retry hint: default ${defaultMs} ms`
        : hint > maxMs
          ? `asked ${Math.ceil(hint)} ms, capped at ${maxMs} ms`
          : `asked ${Math.ceil(hint)} ms`
    return { ms, kind, reason: `${code}${kind === 'rate_limit' ? 'rate limited' : 'overloaded'} (${asked})` }
  }
  if (kind === 'auth') return { ms: maxMs, kind, reason: `${code}the key was refused` }
  if (kind === 'quota_exhausted') return { ms: maxMs, kind, reason: `${code}the key is out of quota` }
  return undefined
}

/** Failure kinds that rest the instance rather than count as breaker and health failures. */
export const COOLDOWN_KINDS: ReadonlySet<FailureKind> = new Set(['rate_limit', 'overloaded', 'auth', 'quota_exhausted'])

/** Failures of the request, not of the instance: another instance would refuse the same request. */
export const REJECTIONS: ReadonlySet<FailureKind> = new Set(['bad_request', 'content_policy'])

/**
 * Failures that count against the instance's breaker and health: it cannot serve now. Others (not found, a
 * rejection) say nothing about its health; cooldown kinds rest it instead.
 */
export const COUNTED: ReadonlySet<FailureKind> = new Set(['timeout', 'server_error', 'network_error', 'unknown'])
