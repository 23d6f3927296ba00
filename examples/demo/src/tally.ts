import type { RouterEvent } from '@llmpool/router'
import { describeFailure, type PlanFacts } from './causes'

/** Traffic: what one pool or task group did, or what it did on one instance. */
export interface Traffic {
  /** Requests (a pool or task group), or calls of it to the instance (an instance row). */
  requests: number
  ok: number
  /** Calls repeated on the same instance. */
  retries: number
  /** Times a request left an instance for the next one. */
  fallbacks: number
  /** Calls that ran out of their attempt timeout. */
  timeouts: number
  /** Extra calls started because a call was slow (`hedge_after`). */
  hedges: number
  latencies: number[]
}

/** What happens to an instance itself, whoever's call caused it: one breaker and one rest per instance. */
export interface InstanceState {
  /** Times its breaker opened. */
  trips: number
  /** Times it was put to rest (a 429, a 529 or a refused key), and for how long each time. */
  cooldowns: number
  restMs: number[]
  /** Times passive health marked it unhealthy. */
  unhealthy: number
  /** Calls to it, from anyone (not counting calls the router stopped), and those that failed. */
  calls: number
  failures: number
  /** Failed calls by cause, in words (`500 from openai`), and the kind of each cause. */
  causes: Map<string, number>
  causeKinds: Map<string, string>
  /** Failed calls by kind (`server_error`, `rate_limit`, `timeout`, ...). */
  kinds: Map<string, number>
  /** Hedged calls to it that answered first. */
  hedgeWins: number
  /** How long requests waited to call it again after it said "not now" (a retry-after within `max_retry_delay`). */
  retryWaitsMs: number[]
}

const emptyTraffic = (): Traffic => ({
  requests: 0,
  ok: 0,
  retries: 0,
  fallbacks: 0,
  timeouts: 0,
  hedges: 0,
  latencies: [],
})
const emptyState = (): InstanceState => ({
  trips: 0,
  cooldowns: 0,
  restMs: [],
  unhealthy: 0,
  calls: 0,
  failures: 0,
  causes: new Map(),
  causeKinds: new Map(),
  kinds: new Map(),
  hedgeWins: 0,
  retryWaitsMs: [],
})

function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key)
  if (value === undefined) map.set(key, (value = make()))
  return value
}
const add = <K>(map: Map<K, number>, key: K, count = 1) => map.set(key, (map.get(key) ?? 0) + count)

/** The model of an instance key: `fast_group.echelon1/openai:gpt-4o#2` → `gpt-4o`. */
export const modelOf = (instance: string) =>
  instance
    .slice(instance.indexOf('/') + 1)
    .replace(/#\d+$/, '')
    .replace(/^[^:]*:/, '')

/**
 * Everything the demo prints, counted from router events: traffic per target (pool or task group) and per target
 * and instance (instance rows are split by the target whose requests made the calls), the state of each instance,
 * why calls failed, and which model answered the requests that another model had failed.
 */
export class Tally {
  readonly targets = new Map<string, Traffic>()
  /** By target, then instance. */
  readonly calls = new Map<string, Map<string, Traffic>>()
  readonly instances = new Map<string, InstanceState>()
  /** By model that failed a call of a request, the models that answered such requests in the end. */
  readonly answeredInstead = new Map<string, Map<string, number>>()
  /** Requests that waited for capacity (every instance at its limits or resting). */
  waited = 0
  /** Requests that failed, by the router's error code. */
  readonly requestFailures = new Map<string, number>()
  /** By the model of a slow call, the hedges started next to it and after how long (ms). */
  readonly hedged = new Map<string, { count: number; afterMs: number }>()
  private readonly requests = new Map<number, { target: string; failed: Set<string>; waited: boolean }>()

  constructor(private readonly facts: PlanFacts) {}

  private traffic(target: string, instance: string): Traffic {
    return entry(
      entry(this.calls, target, () => new Map()),
      instance,
      emptyTraffic,
    )
  }

  private state(instance: string): InstanceState {
    return entry(this.instances, instance, emptyState)
  }

  record(event: RouterEvent): void {
    switch (event.type) {
      case 'request_start':
        this.requests.set(event.requestId, { target: event.target, failed: new Set(), waited: false })
        entry(this.targets, event.target, emptyTraffic).requests++
        break
      case 'request_end': {
        const target = entry(this.targets, event.target, emptyTraffic)
        if (event.ok) target.ok++
        else add(this.requestFailures, event.error ?? 'error')
        target.latencies.push(event.durationMs)
        const request = this.requests.get(event.requestId)
        if (request?.waited) this.waited++
        if (event.ok && event.instance && request) {
          const answeredBy = modelOf(event.instance)
          for (const model of request.failed)
            if (model !== answeredBy)
              add(
                entry(this.answeredInstead, model, () => new Map()),
                answeredBy,
              )
        }
        this.requests.delete(event.requestId)
        break
      }
      case 'attempt_end': {
        const row = this.traffic(event.target, event.instance)
        const state = this.state(event.instance)
        row.requests++
        // A call the router stopped (another call of the request answered first) neither answered nor failed.
        if (!event.cancelled) state.calls++
        if (event.ok) {
          row.ok++
          if (event.hedge) state.hedgeWins++
        }
        if (!event.cancelled) row.latencies.push(event.durationMs)
        if (!event.ok && !event.cancelled && event.error) {
          if (event.error.kind === 'timeout') row.timeouts++
          this.failed(event.instance, event.error, event.durationMs)
          this.requests.get(event.requestId)?.failed.add(modelOf(event.instance))
        }
        break
      }
      case 'stream_end':
        // A stream that broke after its first content: the request is lost, and so is the call.
        if (!event.ok && !event.cancelled && event.error) this.failed(event.instance, event.error, undefined)
        break
      case 'retry': {
        const target = this.requests.get(event.requestId)?.target
        if (target === undefined) break
        entry(this.targets, target, emptyTraffic).retries++
        this.traffic(target, event.instance).retries++
        if (event.kind === 'rate_limit' || event.kind === 'overloaded')
          this.state(event.instance).retryWaitsMs.push(event.delayMs)
        break
      }
      case 'fallback':
        entry(this.targets, event.target, emptyTraffic).fallbacks++
        this.traffic(event.target, event.from).fallbacks++
        break
      case 'hedge': {
        entry(this.targets, event.target, emptyTraffic).hedges++
        this.traffic(event.target, event.to).hedges++
        const slow = entry(this.hedged, modelOf(event.from), () => ({ count: 0, afterMs: event.afterMs }))
        slow.count++
        break
      }
      case 'cooldown':
        // Another process's rest is counted where it started.
        if (!event.remote) {
          const state = this.state(event.instance)
          state.cooldowns++
          state.restMs.push(event.durationMs)
        }
        break
      case 'rate_limited': {
        const request = this.requests.get(event.requestId)
        if (request && event.waiting) request.waited = true
        break
      }
      case 'breaker_change':
        if (event.to === 'open') this.state(event.instance).trips++
        break
      case 'health_change':
        if (!event.healthy) this.state(event.instance).unhealthy++
        break
      default:
        break
    }
  }

  private failed(
    instance: string,
    error: NonNullable<Extract<RouterEvent, { type: 'attempt_end' }>['error']>,
    durationMs: number | undefined,
  ): void {
    const state = this.state(instance)
    state.failures++
    add(state.kinds, error.kind)
    const cause = describeFailure(error, durationMs, this.facts.where(instance), this.facts.scrub)
    add(state.causes, cause)
    state.causeKinds.set(cause, error.kind)
  }

  /** A target's share of the instances' state: the sum over every instance its route reaches. */
  reachedState(target: string): { trips: number; cooldowns: number } {
    let trips = 0
    let cooldowns = 0
    for (const instance of this.facts.reach(target)) {
      const state = this.instances.get(instance)
      trips += state?.trips ?? 0
      cooldowns += state?.cooldowns ?? 0
    }
    return { trips, cooldowns }
  }
}
