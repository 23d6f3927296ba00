import { LATENCY_BUCKETS_MS, type RouterEvent } from '@llmpool/router'

/** Latency buckets per second: the router's bounds, plus one for longer. */
const BUCKETS = LATENCY_BUCKETS_MS.length + 1

/** The figures of one second: `[requests, errors, p50Ms, p99Ms, inputTokens, outputTokens]`. */
export type SecondFigures = [number, number, number | null, number | null, number, number]

/** Sums over a span of seconds, with the merged latency histogram. */
export interface SpanFigures {
  requests: number
  errors: number
  inputTokens: number
  outputTokens: number
  latency: Uint32Array
}

/**
 * One instance's last `seconds` seconds, in rings of typed arrays indexed by `second % seconds`: recording an event
 * is a few array writes, and nothing is allocated after the first event of an instance. A slot holds the second
 * stamped on it; a slot stamped with an older second is stale and counts as zero.
 */
class InstanceRing {
  readonly stamp: Float64Array
  readonly requests: Float64Array
  readonly errors: Float64Array
  readonly inputTokens: Float64Array
  readonly outputTokens: Float64Array
  readonly latency: Uint32Array

  constructor(private readonly seconds: number) {
    this.stamp = new Float64Array(seconds).fill(-1)
    this.requests = new Float64Array(seconds)
    this.errors = new Float64Array(seconds)
    this.inputTokens = new Float64Array(seconds)
    this.outputTokens = new Float64Array(seconds)
    this.latency = new Uint32Array(seconds * BUCKETS)
  }

  /** The slot of `second`, cleared first when it held an older second. */
  slot(second: number): number {
    const slot = second % this.seconds
    if (this.stamp[slot] !== second) {
      this.stamp[slot] = second
      this.requests[slot] = 0
      this.errors[slot] = 0
      this.inputTokens[slot] = 0
      this.outputTokens[slot] = 0
      this.latency.fill(0, slot * BUCKETS, slot * BUCKETS + BUCKETS)
    }
    return slot
  }

  /** The slot of `second` when it holds that second, else -1. */
  find(second: number): number {
    const slot = second % this.seconds
    return this.stamp[slot] === second ? slot : -1
  }
}

const countable = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : 0

function bucketOf(ms: number): number {
  let index = 0
  while (index < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[index]!) index++
  return index
}

/** The bucket estimate of quantile `q` (as the router's `Histogram` computes it); null without values. */
export function quantile(counts: ArrayLike<number>, q: number, offset = 0): number | null {
  let total = 0
  for (let i = 0; i < BUCKETS; i++) total += counts[offset + i]!
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let i = 0; i < BUCKETS; i++) {
    const inBucket = counts[offset + i]!
    if (seen + inBucket >= rank && inBucket > 0) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!
      const upper = LATENCY_BUCKETS_MS[i] ?? lower * 2
      return Math.round((lower + ((upper - lower) * (rank - seen)) / inBucket) * 10) / 10
    }
    seen += inBucket
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!
}

/**
 * Per-second figures of every instance for the last `seconds` seconds (15 minutes by default), fed by the router's
 * events: attempts ended (the instance's requests), failed attempts, their latency and tokens. The router's own
 * metrics count per minute by default, too coarse for a live chart, hence this. It runs from the dashboard's creation,
 * so that a page opened later still shows the last 15 minutes; each event costs a map lookup and a few array writes.
 */
export class Recorder {
  private readonly rings = new Map<string, InstanceRing>()

  constructor(readonly seconds = 900) {}

  /** Feeds one router event. */
  record(event: RouterEvent): void {
    if (event.type === 'attempt_end') {
      if (event.cancelled) return
      const ring = this.ring(event.instance)
      const slot = ring.slot(Math.floor(event.at / 1000))
      ring.requests[slot]!++
      if (!event.ok) ring.errors[slot]!++
      ring.latency[slot * BUCKETS + bucketOf(countable(event.durationMs))]!++
      if (event.inputTokens !== undefined) ring.inputTokens[slot]! += countable(event.inputTokens)
      if (event.outputTokens !== undefined) ring.outputTokens[slot]! += countable(event.outputTokens)
    } else if (event.type === 'stream_end') {
      // A committed stream ends later than its attempt: its tokens (and a failure mid-stream) land here.
      const ring = this.ring(event.instance)
      const slot = ring.slot(Math.floor(event.at / 1000))
      if (!event.ok) ring.errors[slot]!++
      if (event.inputTokens !== undefined) ring.inputTokens[slot]! += countable(event.inputTokens)
      if (event.outputTokens !== undefined) ring.outputTokens[slot]! += countable(event.outputTokens)
    }
  }

  private ring(instance: string): InstanceRing {
    let ring = this.rings.get(instance)
    if (!ring) this.rings.set(instance, (ring = new InstanceRing(this.seconds)))
    return ring
  }

  /** The instances counted so far. */
  instances(): string[] {
    return [...this.rings.keys()]
  }

  /** Forgets instances that are gone (after a reload removed them), so the rings do not grow without bound. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.rings.keys()) if (!keys.has(key)) this.rings.delete(key)
  }

  /** One instance's figures of one second; undefined when it had no traffic then. */
  second(instance: string, second: number): SecondFigures | undefined {
    const ring = this.rings.get(instance)
    const slot = ring?.find(second) ?? -1
    if (slot < 0) return undefined
    const r = ring!
    if (r.requests[slot] === 0 && r.errors[slot] === 0 && r.inputTokens[slot] === 0 && r.outputTokens[slot] === 0)
      return undefined
    return [
      r.requests[slot]!,
      r.errors[slot]!,
      quantile(r.latency, 0.5, slot * BUCKETS),
      quantile(r.latency, 0.99, slot * BUCKETS),
      r.inputTokens[slot]!,
      r.outputTokens[slot]!,
    ]
  }

  /** Sums over the seconds `from..to` (inclusive) of one instance. */
  span(instance: string, from: number, to: number): SpanFigures {
    const figures: SpanFigures = {
      requests: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      latency: new Uint32Array(BUCKETS),
    }
    const ring = this.rings.get(instance)
    if (!ring) return figures
    for (let second = Math.max(from, to - this.seconds + 1); second <= to; second++) {
      const slot = ring.find(second)
      if (slot < 0) continue
      figures.requests += ring.requests[slot]!
      figures.errors += ring.errors[slot]!
      figures.inputTokens += ring.inputTokens[slot]!
      figures.outputTokens += ring.outputTokens[slot]!
      for (let i = 0; i < BUCKETS; i++) figures.latency[i]! += ring.latency[slot * BUCKETS + i]!
    }
    return figures
  }
}
