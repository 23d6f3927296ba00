import { LATENCY_BUCKETS_MS, type Router } from '@llmpool/router'

type Totals = NonNullable<Router['metrics']> extends { snapshot(): infer S } ? S extends { pools: Record<string, infer T> } ? T : never : never
type HistogramJSON = Totals['latency']
type LimiterState = { kind: string; limit: number; available: number; inFlight: number; queued: number; parts?: LimiterState[] }

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([key, value]) => `${key}="${escape(value)}"`)
    .join(',')}}`
const BREAKER_STATE: Record<string, number> = { closed: 0, half_open: 1, open: 2 }

/** Collects families: one HELP/TYPE header each, then its samples. */
class Exposition {
  private readonly families = new Map<string, { help: string; type: string; lines: string[] }>()

  sample(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, line: string): void {
    let family = this.families.get(name)
    if (!family) this.families.set(name, (family = { help, type, lines: [] }))
    family.lines.push(line)
  }

  value(name: string, type: 'counter' | 'gauge', help: string, pairs: Record<string, string>, value: number): void {
    this.sample(name, type, help, `${name}${labels(pairs)} ${Number.isFinite(value) ? value : 0}`)
  }

  histogram(name: string, help: string, pairs: Record<string, string>, histogram: HistogramJSON): void {
    let cumulative = 0
    for (const bound of [...LATENCY_BUCKETS_MS.map(String), '+Inf']) {
      cumulative += histogram.buckets[bound] ?? 0
      const le = bound === '+Inf' ? '+Inf' : String(Number(bound) / 1000)
      this.sample(name, 'histogram', help, `${name}_bucket${labels({ ...pairs, le })} ${cumulative}`)
    }
    this.sample(name, 'histogram', help, `${name}_sum${labels(pairs)} ${histogram.sumMs / 1000}`)
    this.sample(name, 'histogram', help, `${name}_count${labels(pairs)} ${histogram.count}`)
  }

  toString(): string {
    let text = ''
    for (const [name, family] of this.families) text += `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n${family.lines.join('\n')}\n`
    return text
  }
}

function limiter(out: Exposition, pairs: Record<string, string>, state: LimiterState | undefined): void {
  if (!state) return
  for (const part of state.parts ?? [state]) {
    const withKind = { ...pairs, limit_kind: part.kind }
    out.value('llmpool_limiter_available', 'gauge', 'Capacity available now: tokens, slots left in the window, free permits.', withKind, part.available)
    out.value('llmpool_limiter_limit', 'gauge', 'The most the limiter admits.', withKind, part.limit)
    out.value('llmpool_limiter_in_flight', 'gauge', 'Leases held and not yet released.', withKind, part.inFlight)
    out.value('llmpool_limiter_queued', 'gauge', 'Requests waiting for capacity.', withKind, part.queued)
  }
}

/**
 * The router's metrics and state in the Prometheus text exposition format 0.0.4. Counters are the router's totals
 * over each series' retention period (`metrics.retention_period` of a pool; a day for instances).
 */
export async function prometheusText(router: Router, gateway: { requests: Map<string, number>; inFlight: number }): Promise<string> {
  const out = new Exposition()
  const snapshot = router.metrics?.snapshot()
  if (snapshot) {
    const series: [string, string, Record<string, Totals>][] = [
      ['pool', 'pool', snapshot.pools],
      ['task_group', 'task_group', snapshot.taskGroups],
      ['instance', 'instance', snapshot.instances],
    ]
    for (const [scope, label, map] of series) {
      for (const [name, totals] of Object.entries(map)) {
        const pairs = { scope, [label]: name }
        out.value('llmpool_requests_total', 'counter', 'Requests (pools, task groups) and attempts (instances).', pairs, totals.requests)
        out.value('llmpool_successes_total', 'counter', 'Requests or attempts that succeeded.', pairs, totals.successes)
        for (const [kind, count] of Object.entries(totals.failures)) {
          out.value('llmpool_failures_total', 'counter', 'Failures by kind (router error code for targets, failure kind for instances).', { ...pairs, kind }, count ?? 0)
        }
        out.value('llmpool_retries_total', 'counter', 'Retries on the same instance.', pairs, totals.retries)
        out.value('llmpool_fallbacks_total', 'counter', 'Moves to another instance, echelon or pool.', pairs, totals.fallbacks)
        out.value('llmpool_rate_limited_total', 'counter', 'Times a request found its target at its limits.', pairs, totals.rateLimited)
        out.value('llmpool_breaker_trips_total', 'counter', 'Times a breaker opened.', pairs, totals.breakerTrips)
        out.value('llmpool_cooldowns_total', 'counter', 'Times an instance started to rest after a 429, a 529 or a refused key.', pairs, totals.cooldowns)
        out.value('llmpool_hedges_total', 'counter', 'Hedged calls started (targets).', pairs, totals.hedges)
        out.value('llmpool_cancelled_total', 'counter', 'Calls stopped because another call of the request answered first.', pairs, totals.cancelled)
        out.value('llmpool_input_tokens_total', 'counter', 'Input tokens reported by upstreams.', pairs, totals.inputTokens)
        out.value('llmpool_output_tokens_total', 'counter', 'Output tokens reported by upstreams.', pairs, totals.outputTokens)
        out.value('llmpool_in_flight', 'gauge', 'Requests or attempts in flight.', pairs, totals.inFlight)
        out.histogram('llmpool_request_duration_seconds', 'Latency of requests (targets) and attempts (instances).', pairs, totals.latency)
        if (totals.timeToFirstToken.count > 0) {
          out.histogram('llmpool_time_to_first_token_seconds', 'Time to the first content part of streams.', pairs, totals.timeToFirstToken)
        }
      }
    }
  }
  const state = await router.state()
  for (const instance of state.instances) {
    const pairs = { instance: instance.key }
    out.value('llmpool_breaker_state', 'gauge', 'Circuit breaker state: 0 closed, 1 half_open, 2 open.', pairs, BREAKER_STATE[instance.breaker.state] ?? 0)
    out.value('llmpool_instance_healthy', 'gauge', '1 when the instance is healthy.', pairs, instance.health.healthy ? 1 : 0)
    out.value(
      'llmpool_instance_cooldown_seconds',
      'gauge',
      'Seconds the instance still rests (0: not resting); kind: rate_limit, overloaded, auth or quota_exhausted.',
      { ...pairs, kind: instance.cooldown?.kind ?? 'none' },
      (instance.cooldown?.remainingMs ?? 0) / 1000,
    )
    limiter(out, { scope: 'instance', instance: instance.key }, instance.limits as LimiterState | undefined)
  }
  for (const pool of state.pools) limiter(out, { scope: 'pool', pool: pool.name }, pool.limits as LimiterState | undefined)
  for (const [status, count] of gateway.requests) {
    out.value('llmpool_gateway_http_responses_total', 'counter', 'HTTP responses of the gateway by status.', { status }, count)
  }
  out.value('llmpool_gateway_http_in_flight', 'gauge', 'HTTP requests being served.', {}, gateway.inFlight)
  return out.toString()
}
