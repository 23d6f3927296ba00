/** Upper bounds (ms) of the latency buckets: Prometheus-style cumulative buckets, plus +Inf. */
export const LATENCY_BUCKETS_MS = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000,
] as const

/**
 * What a count adds: a negative value (a wall clock stepped back between two readings, a confused upstream's usage)
 * or one that is not finite adds 0, so that sums only ever grow — Prometheus reads them as counters.
 */
export const countable = (value: number | undefined): number =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : 0

/** A fixed-bucket histogram: O(buckets) memory whatever the traffic; quantiles are bucket estimates. */
export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  count = 0
  sum = 0

  /** Counts one value (negative or not finite: as 0, see `countable`). */
  observe(observed: number): void {
    const value = countable(observed)
    let index = 0
    while (index < LATENCY_BUCKETS_MS.length && value > LATENCY_BUCKETS_MS[index]!) index++
    this.counts[index]!++
    this.count++
    this.sum += value
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!
    this.count += other.count
    this.sum += other.sum
  }

  /** The upper bound of the bucket holding quantile `q` (0..1), interpolated linearly inside the bucket. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined
    const rank = q * this.count
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i]!
      if (seen + inBucket >= rank && inBucket > 0) {
        const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!
        const upper = LATENCY_BUCKETS_MS[i] ?? lower * 2
        return lower + ((upper - lower) * (rank - seen)) / inBucket
      }
      seen += inBucket
    }
    return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]
  }

  toJSON() {
    return {
      count: this.count,
      sumMs: this.sum,
      p50Ms: this.quantile(0.5),
      p99Ms: this.quantile(0.99),
      buckets: Object.fromEntries(
        [...LATENCY_BUCKETS_MS.map(String), '+Inf'].map((bound, i) => [bound, this.counts[i]!]),
      ),
    }
  }
}
