import type { InstanceState } from '@llmpool/router'
import type { Recorder } from './recorder'
import { quantile } from './recorder'
import type { Fill, InstanceView, PoolView } from './types'

/** The shape of a limiter's `state()` that the page reads (`LimiterState` of `@llmpool/limiter`). */
interface LimiterStateLike {
  kind: string
  limit: number
  available: number
  parts?: LimiterStateLike[]
}

const isLimiterState = (value: unknown): value is LimiterStateLike =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as LimiterStateLike).kind === 'string' &&
  typeof (value as LimiterStateLike).limit === 'number'

/** An instance's limits by what they mean: its `rpm_limit` is a sliding window, its `concurrency_limit` a concurrency limit. */
function instanceLimits(state: unknown): InstanceView['limits'] {
  const limits: InstanceView['limits'] = {}
  if (!isLimiterState(state)) return limits
  for (const part of state.parts ?? [state]) {
    const fill: Fill = { available: Math.max(0, Math.floor(part.available)), limit: part.limit }
    if (part.kind === 'concurrency') limits.concurrency = fill
    else if (part.kind === 'sliding_window') limits.rpm = fill
  }
  return limits
}

export function poolView(pool: { name: string; limits: unknown }): PoolView {
  const limits = pool.limits
  if (!isLimiterState(limits)) return { name: pool.name }
  return {
    name: pool.name,
    limit: { kind: limits.kind, available: Math.max(0, Math.floor(limits.available)), limit: limits.limit },
  }
}

/**
 * What the page shows of one instance: the router's state, summed up in one status word, with its figures over the
 * last `windowSeconds` complete seconds up to `second`.
 */
export function instanceView(
  state: InstanceState,
  now: number,
  recorder: Recorder,
  second: number,
  windowSeconds: number,
): InstanceView {
  const breaker = state.breaker
  const nextTrialInMs =
    breaker.state === 'open' && breaker.openedAt !== null
      ? Math.max(0, breaker.openedAt + breaker.recoveryTimeMs - now)
      : undefined
  const health = state.health
  const cooldown = state.cooldown
  const status: InstanceView['status'] =
    breaker.state === 'open'
      ? 'open'
      : !health.healthy
        ? 'unhealthy'
        : cooldown
          ? 'cooldown'
          : breaker.state === 'half_open'
            ? 'half_open'
            : state.draining
              ? 'draining'
              : 'ok'
  const span = recorder.span(state.key, second - windowSeconds + 1, second)
  return {
    key: state.key,
    group: state.group,
    echelon: state.echelon,
    model: state.model,
    status,
    breaker: {
      state: breaker.state,
      failures: breaker.failures,
      ...(nextTrialInMs !== undefined ? { nextTrialInMs } : {}),
    },
    health: {
      healthy: health.healthy,
      consecutiveFailures: health.consecutiveFailures,
      retryAfterMs: health.retryAfterMs,
    },
    ...(cooldown
      ? {
          cooldown: {
            kind: cooldown.kind,
            reason: cooldown.reason,
            remainingMs: cooldown.remainingMs,
            remote: cooldown.remote,
          },
        }
      : {}),
    limits: instanceLimits(state.limits),
    inFlight: state.inFlight,
    window: {
      requestsPerSecond: Math.round((span.requests / windowSeconds) * 1000) / 1000,
      errorRate: span.requests > 0 ? Math.min(1, span.errors / span.requests) : 0,
      p50Ms: quantile(span.latency, 0.5) ?? undefined,
      p99Ms: quantile(span.latency, 0.99) ?? undefined,
      inputTokens: span.inputTokens,
      outputTokens: span.outputTokens,
    },
  }
}
