import { apiRoot, defaultApiRoot, type Router, type RouterEvent } from '@llmpool/router'

/** What an attempt's failure carries (`attempt_end.error`, `stream_end.error`). */
type AttemptError = NonNullable<Extract<RouterEvent, { type: 'attempt_end' }>['error']>

/** What the words after a status say, for the kinds where the status alone would leave a reader guessing. */
const STATUS_HINTS: Partial<Record<AttemptError['kind'], string>> = {
  rate_limit: 'rate limited',
  overloaded: 'overloaded',
  auth: 'key refused',
  quota_exhausted: 'quota used up',
  not_found: 'no such model',
  content_policy: 'content policy',
  timeout: 'timeout',
}

/** Node's and undici's names for why a connection failed, when the message quotes one. */
const NETWORK_CODE =
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|UND_ERR_[A-Z_]+|CERT_[A-Z_]+)\b/

/**
 * One failed call in a few words an operator can act on: `500 from openai`, `401 from anthropic (key refused)`,
 * `network unreachable: api.openai.com (ENOTFOUND)`, `timed out after 2 s`. The upstream's own text is only kept
 * (cut short) when nothing else says what went wrong; the router has scrubbed it already, and `scrub` runs again.
 */
export function describeFailure(
  error: AttemptError,
  durationMs: number | undefined,
  where: { provider: string; host: string | undefined },
  scrub: (text: string) => string,
): string {
  const hint = STATUS_HINTS[error.kind]
  if (error.statusCode !== undefined) {
    const detail = hint ?? (error.kind === 'server_error' ? '' : shortMessage(error.message))
    return scrub(`${error.statusCode} from ${where.provider}${detail ? ` (${detail})` : ''}`)
  }
  if (error.kind === 'timeout') return durationMs === undefined ? 'timed out' : `timed out after ${seconds(durationMs)}`
  if (error.kind === 'network_error') {
    const code = NETWORK_CODE.exec(error.message)?.[1]
    return scrub(`network unreachable: ${where.host ?? where.provider}${code ? ` (${code})` : ''}`)
  }
  return scrub(`${error.kind.replace(/_/g, ' ')}${hint ? ` (${hint})` : ''}: ${shortMessage(error.message)}`)
}

const shortMessage = (message: string) => {
  const line = message.split('\n')[0]!.trim()
  return line.length > 60 ? `${line.slice(0, 60)}…` : line
}

const seconds = (ms: number) => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`)

/**
 * Where each instance's calls go and which secrets must never be printed, read from the router's plan: the host of
 * its API root (`host` never holds a URL's user or password) and every API key of the plan and the environment.
 */
export function planFacts(router: Router, env: Record<string, string | undefined> = process.env) {
  const secrets = [env.OPENAI_API_KEY, env.ANTHROPIC_API_KEY]
  for (const instance of router.plan.instances.values()) secrets.push(instance.apiKey)
  const known = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4)
  return {
    /** Provider and API host of an instance key. */
    where(key: string): { provider: string; host: string | undefined } {
      const plan = router.plan.instances.get(key)
      const provider = plan?.provider ?? key.slice(key.indexOf('/') + 1).split(':')[0]!
      const root =
        apiRoot(plan?.baseURL) ??
        (provider === 'openai' || provider === 'anthropic' ? defaultApiRoot(provider, env) : undefined)
      let host: string | undefined
      try {
        host = root === undefined ? undefined : new URL(root).host
      } catch {
        host = undefined
      }
      return { provider, host }
    },
    /** `text` with every known key replaced, and anything key-like too (a key of another process, a bearer token). */
    scrub(text: string): string {
      let safe = text
      for (const secret of known) safe = safe.split(secret).join('[redacted]')
      return safe.replace(/\b(?:sk|pk|rk|ak)-[A-Za-z0-9_*.-]{6,}|\bBearer\s+\S+/gi, '[redacted]')
    },
    /** The instances a pool's or task group's requests can reach: its echelons, or its task groups and fallback pools. */
    reach(target: string): string[] {
      if (!router.plan.entries.has(target)) return []
      const route = router.entry(target).route
      const candidates =
        route.kind === 'task_group'
          ? route.steps.flatMap((step) => step.candidates)
          : route.stages.flatMap((stage) => stage.tiers.flat())
      return [...new Set(candidates.map((candidate) => candidate.instance))]
    },
  }
}

export type PlanFacts = ReturnType<typeof planFacts>
