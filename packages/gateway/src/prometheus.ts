import type { MetricsSnapshot, Router, SeriesFigures } from '@llmpool/router'
import { Exposition, type Labels } from './exposition'
import { processMetrics } from './process-metrics'

type LimiterState = {
  kind: string
  limit: number
  available: number
  inFlight: number
  queued: number
  parts?: LimiterState[]
}

/** What the gateway itself counts: HTTP responses by status since it started, and requests being served. */
export interface GatewayCounts {
  requests: ReadonlyMap<string, number>
  inFlight: number
}

/**
 * The label naming an instance. Not `instance`: Prometheus gives every scraped series `instance` (and `job`) of its
 * own, the target's address, and renames a clashing one to `exported_instance` (docs/decisions/0016).
 */
const INSTANCE = 'llm_instance'
const BREAKER_STATE: Record<string, number> = { closed: 0, half_open: 1, open: 2 }

/** The scopes of the router's series, with the label that names one series of each. */
const SCOPES: [scope: string, label: string, figures: (totals: MetricsSnapshot) => Record<string, SeriesFigures>][] = [
  ['pool', 'pool', (totals) => totals.pools],
  ['task_group', 'task_group', (totals) => totals.taskGroups],
  ['instance', INSTANCE, (totals) => totals.instances],
]

/** Counts of one series: since it was first counted, so they only ever grow (`router.metrics.totals()`). */
function counters(out: Exposition, labels: Labels, figures: SeriesFigures): void {
  out.value(
    'llmpool_requests_total',
    'counter',
    'Requests (pools, task groups) and attempts (instances).',
    labels,
    figures.requests,
  )
  out.value('llmpool_successes_total', 'counter', 'Requests or attempts that succeeded.', labels, figures.successes)
  for (const [kind, count] of Object.entries(figures.failures)) {
    out.value(
      'llmpool_failures_total',
      'counter',
      'Failures by kind (router error code for targets, failure kind for instances).',
      { ...labels, kind },
      count ?? 0,
    )
  }
  out.value('llmpool_retries_total', 'counter', 'Retries on the same instance.', labels, figures.retries)
  out.value(
    'llmpool_fallbacks_total',
    'counter',
    'Moves to another instance, echelon or pool.',
    labels,
    figures.fallbacks,
  )
  out.value(
    'llmpool_rate_limited_total',
    'counter',
    'Times a request found its target at its limits.',
    labels,
    figures.rateLimited,
  )
  out.value('llmpool_breaker_trips_total', 'counter', 'Times a breaker opened.', labels, figures.breakerTrips)
  out.value(
    'llmpool_cooldowns_total',
    'counter',
    'Times an instance started to rest after a 429, a 529 or a refused key.',
    labels,
    figures.cooldowns,
  )
  out.value('llmpool_hedges_total', 'counter', 'Hedged calls started (targets).', labels, figures.hedges)
  out.value(
    'llmpool_cancelled_total',
    'counter',
    'Calls stopped because another call of the request answered first.',
    labels,
    figures.cancelled,
  )
  out.value('llmpool_input_tokens_total', 'counter', 'Input tokens reported by upstreams.', labels, figures.inputTokens)
  out.value(
    'llmpool_output_tokens_total',
    'counter',
    'Output tokens reported by upstreams.',
    labels,
    figures.outputTokens,
  )
  out.value('llmpool_in_flight', 'gauge', 'Requests or attempts in flight.', labels, figures.inFlight)
  out.histogram(
    'llmpool_request_duration_seconds',
    'Latency of requests (targets) and attempts (instances).',
    labels,
    figures.latency,
  )
  if (figures.timeToFirstToken.count > 0) {
    out.histogram(
      'llmpool_time_to_first_token_seconds',
      'Time to the first content part of streams.',
      labels,
      figures.timeToFirstToken,
    )
  }
}

function limiter(out: Exposition, labels: Labels, state: LimiterState | undefined): void {
  if (!state) return
  for (const part of state.parts ?? [state]) {
    const withKind = { ...labels, limit_kind: part.kind }
    out.value(
      'llmpool_limiter_available',
      'gauge',
      'Capacity available now: tokens, slots left in the window, free permits.',
      withKind,
      part.available,
    )
    out.value('llmpool_limiter_limit', 'gauge', 'The most the limiter admits.', withKind, part.limit)
    out.value('llmpool_limiter_in_flight', 'gauge', 'Leases held and not yet released.', withKind, part.inFlight)
    out.value('llmpool_limiter_queued', 'gauge', 'Requests waiting for capacity.', withKind, part.queued)
  }
}

/**
 * `GET /metrics`: the router's counters and state, the gateway's own counts and the process's metrics, in the
 * Prometheus text exposition format 0.0.4. Every `_total` and histogram counts since the router or gateway started
 * and never falls (the windowed figures of `router.metrics.snapshot()` stay in `/admin/state`). Everything is read
 * here, at scrape time: counting a request stays a few additions on plain numbers.
 */
export async function prometheusText(router: Router, gateway: GatewayCounts): Promise<string> {
  const out = new Exposition()
  const totals = router.metrics?.totals()
  if (totals) {
    for (const [scope, label, figures] of SCOPES) {
      for (const [name, series] of Object.entries(figures(totals))) counters(out, { scope, [label]: name }, series)
    }
  }
  const state = await router.state()
  for (const instance of state.instances) {
    const labels = { [INSTANCE]: instance.key }
    out.value(
      'llmpool_breaker_state',
      'gauge',
      'Circuit breaker state: 0 closed, 1 half_open, 2 open.',
      labels,
      BREAKER_STATE[instance.breaker.state] ?? 0,
    )
    out.value(
      'llmpool_instance_healthy',
      'gauge',
      '1 when the instance is healthy.',
      labels,
      instance.health.healthy ? 1 : 0,
    )
    out.value(
      'llmpool_instance_cooldown_seconds',
      'gauge',
      'Seconds the instance still rests (0: not resting); kind: rate_limit, overloaded, auth or quota_exhausted.',
      { ...labels, kind: instance.cooldown?.kind ?? 'none' },
      (instance.cooldown?.remainingMs ?? 0) / 1000,
    )
    limiter(out, { scope: 'instance', [INSTANCE]: instance.key }, instance.limits as LimiterState | undefined)
  }
  for (const pool of state.pools)
    limiter(out, { scope: 'pool', pool: pool.name }, pool.limits as LimiterState | undefined)
  for (const [status, count] of gateway.requests) {
    out.value(
      'llmpool_gateway_http_responses_total',
      'counter',
      'HTTP responses of the gateway by status, since it started.',
      { status },
      count,
    )
  }
  out.value('llmpool_gateway_http_in_flight', 'gauge', 'HTTP requests being served.', {}, gateway.inFlight)
  return `${out.toString()}${await processMetrics().metrics()}`
}
