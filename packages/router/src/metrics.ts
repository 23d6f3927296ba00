import type { FailureKind } from '@llmpool/breaker'
import type { Clock } from '@llmpool/schema'
import type { RouterEvent } from './events'
import { countable, Histogram } from './histogram'

/** Counters of one instance, pool or task group over some span of time. */
export class Counters {
  requests = 0
  successes = 0
  failures: Partial<Record<FailureKind | string, number>> = {}
  retries = 0
  fallbacks = 0
  rateLimited = 0
  breakerTrips = 0
  /** Cooldowns started (an instance rested after a 429, a 529 or a refused key). */
  cooldowns = 0
  /** Hedged calls started; `cancelled`: calls stopped because another answered first. */
  hedges = 0
  cancelled = 0
  inputTokens = 0
  outputTokens = 0
  readonly latency = new Histogram()
  readonly timeToFirstToken = new Histogram()

  merge(other: Counters): void {
    this.requests += other.requests
    this.successes += other.successes
    for (const [kind, count] of Object.entries(other.failures))
      this.failures[kind] = (this.failures[kind] ?? 0) + count!
    this.retries += other.retries
    this.fallbacks += other.fallbacks
    this.rateLimited += other.rateLimited
    this.breakerTrips += other.breakerTrips
    this.cooldowns += other.cooldowns
    this.hedges += other.hedges
    this.cancelled += other.cancelled
    this.inputTokens += other.inputTokens
    this.outputTokens += other.outputTokens
    this.latency.merge(other.latency)
    this.timeToFirstToken.merge(other.timeToFirstToken)
  }

  toJSON() {
    return {
      requests: this.requests,
      successes: this.successes,
      failures: this.failures,
      retries: this.retries,
      fallbacks: this.fallbacks,
      rateLimited: this.rateLimited,
      breakerTrips: this.breakerTrips,
      cooldowns: this.cooldowns,
      hedges: this.hedges,
      cancelled: this.cancelled,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      latency: this.latency.toJSON(),
      timeToFirstToken: this.timeToFirstToken.toJSON(),
    }
  }
}

/**
 * One series (an instance, a pool, a task group): counters per interval, dropped after the retention period (the
 * recent figures), and the sum of every interval since the series was first counted (the lifetime figures, which only
 * ever grow). Events add to the current interval only; an interval joins `closed` once, when the next one starts, so
 * the lifetime figures cost nothing per event and a read merges one interval into a copy of `closed`.
 */
class Series {
  private readonly buckets: { start: number; counters: Counters }[] = []
  /** Every interval before the current one, including those dropped after the retention period. */
  private readonly closed = new Counters()
  inFlight = 0

  constructor(
    private intervalMs: number,
    private retentionMs: number,
  ) {}

  configure(intervalMs: number, retentionMs: number): void {
    this.intervalMs = intervalMs
    this.retentionMs = retentionMs
  }

  at(now: number): Counters {
    const start = now - (now % this.intervalMs)
    const last = this.buckets[this.buckets.length - 1]
    if (last && last.start === start) return last.counters
    if (last) this.closed.merge(last.counters)
    const counters = new Counters()
    this.buckets.push({ start, counters })
    while (this.buckets.length > 0 && this.buckets[0]!.start + this.intervalMs <= now - this.retentionMs)
      this.buckets.shift()
    return counters
  }

  total(now: number): Counters {
    const total = new Counters()
    for (const bucket of this.buckets)
      if (bucket.start + this.intervalMs > now - this.retentionMs) total.merge(bucket.counters)
    return total
  }

  /** Everything since the series was first counted. */
  lifetime(): Counters {
    const lifetime = new Counters()
    lifetime.merge(this.closed)
    const last = this.buckets[this.buckets.length - 1]
    if (last) lifetime.merge(last.counters)
    return lifetime
  }

  intervals(now: number) {
    return this.buckets
      .filter((bucket) => bucket.start + this.intervalMs > now - this.retentionMs)
      .map((bucket) => ({ start: bucket.start, ...bucket.counters.toJSON() }))
  }
}

export interface MetricsSettings {
  /** Bucket length (ms) of a series. */
  intervalMs: number
  /** How long buckets are kept (ms). */
  retentionMs: number
}

/** The counts of one instance, pool or task group (`Counters` as JSON) with its calls in flight now. */
export type SeriesFigures = ReturnType<Counters['toJSON']> & { inFlight: number }

/** Figures per instance, pool and task group: over each retention period (`snapshot()`) or since first counted (`totals()`). */
export interface MetricsSnapshot {
  /** Clock time (ms) the figures were taken. */
  at: number
  /** By instance key (`group.echelon/provider:model`, `#n` with rotating keys); counts attempts. */
  instances: Record<string, SeriesFigures>
  /** By pool name; counts requests. */
  pools: Record<string, SeriesFigures>
  /** By task group name; counts requests made to the group itself. */
  taskGroups: Record<string, SeriesFigures>
}

/** The most requests whose pool or task group the metrics remember at once (see `RouterMetrics.targets`). */
const MAX_TRACKED = 50_000

/**
 * Metrics of a router, from its events: per instance, per pool and per task group — requests, successes, failures
 * by kind, retries, fallbacks, rate limiting, breaker trips, latency and time-to-first-token histograms, tokens in
 * and out, calls in flight — in buckets of the configured interval, kept for the retention period (`snapshot()`,
 * `intervals()`), and since each series was first counted (`totals()`, for Prometheus counters).
 */
export class RouterMetrics {
  private readonly instances = new Map<string, Series>()
  private readonly pools = new Map<string, Series>()
  private readonly groups = new Map<string, Series>()
  /**
   * The pool or task group of each request in flight, by request id; a stream's stays until its end (`stream_end`
   * brings its tokens, after `request_end`). Bounded, in case a caller drops a stream without reading or
   * cancelling it: past MAX_TRACKED the oldest goes.
   */
  private readonly targets = new Map<number, { target: string; kind: 'pool' | 'group'; stream: boolean }>()

  constructor(
    private readonly clock: Clock,
    /** Interval and retention of a pool or group (its `metrics` table), and of instances (`instance`). */
    private readonly settingsOf: (kind: 'pool' | 'group' | 'instance', name: string) => MetricsSettings | undefined,
  ) {}

  private series(map: Map<string, Series>, kind: 'pool' | 'group' | 'instance', name: string): Series | undefined {
    const settings = this.settingsOf(kind, name)
    if (!settings) return undefined
    let series = map.get(name)
    if (!series) map.set(name, (series = new Series(settings.intervalMs, settings.retentionMs)))
    else series.configure(settings.intervalMs, settings.retentionMs)
    return series
  }

  private target(requestId: number): Series | undefined {
    const target = this.targets.get(requestId)
    if (!target) return undefined
    return target.kind === 'pool'
      ? this.series(this.pools, 'pool', target.target)
      : this.series(this.groups, 'group', target.target)
  }

  /** Feeds one event (subscribe it with `router.on(event => metrics.record(event))`). */
  record(event: RouterEvent, targetKind?: (target: string, entry: string) => 'pool' | 'group' | undefined): void {
    const now = event.at
    switch (event.type) {
      case 'request_start': {
        const kind = targetKind?.(event.target, event.entry)
        if (kind) {
          this.targets.set(event.requestId, { target: event.target, kind, stream: event.stream })
          if (this.targets.size > MAX_TRACKED) this.targets.delete(this.targets.keys().next().value!)
        }
        const series = this.target(event.requestId)
        if (series) {
          series.at(now).requests++
          series.inFlight++
        }
        return
      }
      case 'request_end': {
        const series = this.target(event.requestId)
        if (series) {
          const counters = series.at(now)
          if (event.ok) counters.successes++
          else counters.failures[event.error ?? 'error'] = (counters.failures[event.error ?? 'error'] ?? 0) + 1
          counters.latency.observe(event.durationMs)
          series.inFlight = Math.max(0, series.inFlight - 1)
        }
        // A stream that was answered reports its tokens at its end: its target is needed until then.
        if (!(event.ok && !event.cached && this.targets.get(event.requestId)?.stream))
          this.targets.delete(event.requestId)
        return
      }
      case 'attempt_start': {
        const series = this.series(this.instances, 'instance', event.instance)
        if (series) {
          series.at(now).requests++
          series.inFlight++
        }
        return
      }
      case 'attempt_end': {
        const series = this.series(this.instances, 'instance', event.instance)
        if (!series) return
        const counters = series.at(now)
        series.inFlight = Math.max(0, series.inFlight - 1)
        if (event.ok) counters.successes++
        else if (event.cancelled) counters.cancelled++
        else if (event.error) counters.failures[event.error.kind] = (counters.failures[event.error.kind] ?? 0) + 1
        counters.latency.observe(event.durationMs)
        if (event.timeToFirstTokenMs !== undefined) {
          counters.timeToFirstToken.observe(event.timeToFirstTokenMs)
          this.target(event.requestId)?.at(now).timeToFirstToken.observe(event.timeToFirstTokenMs)
        }
        this.tokens(counters, event.inputTokens, event.outputTokens, event.requestId, now)
        return
      }
      case 'stream_end': {
        const counters = this.series(this.instances, 'instance', event.instance)?.at(now)
        if (counters && !event.ok && event.error)
          counters.failures[event.error.kind] = (counters.failures[event.error.kind] ?? 0) + 1
        this.tokens(counters, event.inputTokens, event.outputTokens, event.requestId, now)
        this.targets.delete(event.requestId)
        return
      }
      case 'retry': {
        const series = this.series(this.instances, 'instance', event.instance)
        if (series) series.at(now).retries++
        this.bump(event.requestId, now, 'retries')
        return
      }
      case 'fallback':
        this.bump(event.requestId, now, 'fallbacks')
        return
      case 'hedge':
        this.bump(event.requestId, now, 'hedges')
        return
      case 'cooldown': {
        const series = this.series(this.instances, 'instance', event.instance)
        if (series) series.at(now).cooldowns++
        return
      }
      case 'rate_limited':
        this.bump(event.requestId, now, 'rateLimited')
        return
      case 'breaker_change':
        if (event.to === 'open') {
          const series = this.series(this.instances, 'instance', event.instance)
          if (series) series.at(now).breakerTrips++
        }
        return
      default:
        return
    }
  }

  private bump(requestId: number, now: number, field: 'retries' | 'fallbacks' | 'rateLimited' | 'hedges'): void {
    const series = this.target(requestId)
    if (series) series.at(now)[field]++
  }

  private tokens(
    counters: Counters | undefined,
    input: number | undefined,
    output: number | undefined,
    requestId: number,
    now: number,
  ): void {
    if (input === undefined && output === undefined) return
    // An upstream's negative or NaN usage would make the totals fall or stick at NaN: it adds nothing.
    const inputTokens = countable(input)
    const outputTokens = countable(output)
    if (counters) {
      counters.inputTokens += inputTokens
      counters.outputTokens += outputTokens
    }
    const target = this.target(requestId)?.at(now)
    if (target) {
      target.inputTokens += inputTokens
      target.outputTokens += outputTokens
    }
  }

  /**
   * Figures over each series' retention period, with calls in flight now: what happened lately (the gateway's
   * `/admin/state`). They fall as old intervals are dropped, so they are not counters: `totals()` gives those.
   */
  snapshot(): MetricsSnapshot {
    const now = this.clock.now()
    const figures = (map: Map<string, Series>) =>
      Object.fromEntries(
        [...map].map(([name, series]) => [name, { ...series.total(now).toJSON(), inFlight: series.inFlight }]),
      )
    return { at: now, instances: figures(this.instances), pools: figures(this.pools), taskGroups: figures(this.groups) }
  }

  /**
   * Figures since each series was first counted, with calls in flight now. Every count and histogram in them only
   * ever grows for the router's life, so a monitoring system may compute rates from them (the gateway's `/metrics`
   * reads these). A series stays once counted, also after a reload removed its instance, pool or task group.
   */
  totals(): MetricsSnapshot {
    const figures = (map: Map<string, Series>) =>
      Object.fromEntries(
        [...map].map(([name, series]) => [name, { ...series.lifetime().toJSON(), inFlight: series.inFlight }]),
      )
    return {
      at: this.clock.now(),
      instances: figures(this.instances),
      pools: figures(this.pools),
      taskGroups: figures(this.groups),
    }
  }

  /** The per-interval buckets of one series, oldest first. */
  intervals(kind: 'pool' | 'group' | 'instance', name: string) {
    const map = kind === 'pool' ? this.pools : kind === 'group' ? this.groups : this.instances
    return map.get(name)?.intervals(this.clock.now()) ?? []
  }
}
