import { useMemo } from 'preact/hooks'
import type { InstanceView } from '../../src/types'
import { count, duration, percent, rate } from '../format'
import { columns, type Model } from '../model'
import { Chart } from './chart'
import { StatusBadge } from './status'

const COLORS = {
  requests: '#3b82f6',
  errors: '#ef4444',
  p50: '#10b981',
  p99: '#f59e0b',
  input: '#8b5cf6',
  output: '#06b6d4',
}

/** The selected instance (or every instance together): its state in words, and its last 15 minutes in charts. */
export function Detail({ model, selected, onClear }: { model: Model; selected: string | undefined; onClear(): void }) {
  const instance = selected ? model.instances.get(selected) : undefined
  const figures = useMemo(
    () => columns(model, instance ? selected : undefined),
    [model.at, model.points, instance ? selected : undefined],
  )
  const requests = useMemo(
    () => [figures.times, figures.requests, figures.errors] as [number[], number[], number[]],
    [figures],
  )
  const latency = useMemo(
    () => [figures.times, figures.p50, figures.p99] as [number[], (number | null)[], (number | null)[]],
    [figures],
  )
  const tokens = useMemo(
    () => [figures.times, figures.inputTokens, figures.outputTokens] as [number[], number[], number[]],
    [figures],
  )
  return (
    <section class="panel detail" aria-labelledby="detail-title">
      <div class="panel-head">
        <h2 id="detail-title">{instance ? instance.key : 'All instances'}</h2>
        {instance ? (
          <button type="button" class="link" onClick={onClear}>
            show all
          </button>
        ) : null}
      </div>
      {instance ? (
        <Facts instance={instance} />
      ) : (
        <p class="hint">Select an instance in the tree (click, or Enter) for its state and charts.</p>
      )}
      <Chart
        key={`r-${selected ?? 'all'}`}
        title="Requests and failures per second"
        unit="req/s"
        series={[
          { label: 'requests', stroke: COLORS.requests, fill: 'rgba(59,130,246,0.12)' },
          { label: 'failed', stroke: COLORS.errors, dash: [4, 3] },
        ]}
        data={requests}
      />
      <Chart
        key={`l-${selected ?? 'all'}`}
        title={instance ? 'Latency (ms)' : 'Latency of the slowest instance (ms)'}
        unit="ms"
        series={[
          { label: 'p50', stroke: COLORS.p50 },
          { label: 'p99', stroke: COLORS.p99, dash: [4, 3] },
        ]}
        data={latency}
      />
      <Chart
        key={`t-${selected ?? 'all'}`}
        title="Tokens per second"
        unit="tok/s"
        series={[
          { label: 'in', stroke: COLORS.input },
          { label: 'out', stroke: COLORS.output, dash: [4, 3] },
        ]}
        data={tokens}
      />
    </section>
  )
}

function Facts({ instance }: { instance: InstanceView }) {
  const { breaker, health, cooldown, limits, window } = instance
  return (
    <dl class="facts">
      <dt>State</dt>
      <dd>
        <StatusBadge instance={instance} />
      </dd>
      <dt>Breaker</dt>
      <dd>
        {breaker.state.replace('_', '-')}
        {breaker.failures > 0 ? `, ${breaker.failures} failure${breaker.failures === 1 ? '' : 's'} counted` : ''}
        {breaker.nextTrialInMs !== undefined ? `, next trial in ${duration(breaker.nextTrialInMs)}` : ''}
      </dd>
      <dt>Health</dt>
      <dd>
        {health.healthy
          ? 'healthy'
          : `unhealthy${health.retryAfterMs > 0 ? `, tried again in ${duration(health.retryAfterMs)}` : ''}`}
      </dd>
      <dt>Cooldown</dt>
      <dd>
        {cooldown
          ? `${cooldown.kind.replace('_', ' ')}, ${duration(cooldown.remainingMs)} left: ${cooldown.reason}${cooldown.remote ? ' (set by another process)' : ''}`
          : 'none'}
      </dd>
      <dt>Limits free</dt>
      <dd>
        {limits.rpm ? `${limits.rpm.available} of ${limits.rpm.limit} rpm` : 'no rpm limit'};{' '}
        {limits.concurrency
          ? `${limits.concurrency.available} of ${limits.concurrency.limit} concurrent`
          : 'no concurrency limit'}
      </dd>
      <dt>In flight</dt>
      <dd>{instance.inFlight}</dd>
      <dt>Last minute</dt>
      <dd>
        {rate(window.requestsPerSecond)} req/s, {percent(window.errorRate)} failed, p50 {duration(window.p50Ms)}, p99{' '}
        {duration(window.p99Ms)}, tokens {count(window.inputTokens)} in / {count(window.outputTokens)} out
      </dd>
    </dl>
  )
}
