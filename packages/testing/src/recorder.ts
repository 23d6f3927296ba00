import type { IncomingHttpHeaders } from 'node:http'
import type { FaultKind } from './faults'

/** How a request ended. */
export type RequestOutcome = 'in_flight' | 'completed' | 'failed' | 'aborted'

/** One request as the mock upstream saw it. */
export interface RecordedRequest {
  /** Sequence number, from 1, across all models. */
  id: number
  /** The model it named (body `model`, or the id in `/v1/models/{id}`); `'*'` for the model list. */
  model: string
  /** `openai` (Chat Completions and Embeddings: `path` tells which), `anthropic`, or `models` for the model endpoints. */
  api: 'openai' | 'anthropic' | 'models'
  /**
   * The API key it carried: `Authorization: Bearer <key>` or `x-api-key: <key>` (Messages requests read `x-api-key`
   * first, the others the bearer token). undefined when it carried neither.
   */
  apiKey: string | undefined
  /** HTTP method. */
  method: string
  /** URL path, without the query. */
  path: string
  /** True when the client asked for a stream. */
  stream: boolean
  /** The parsed JSON body (undefined for GET, or when `recordBodies` is false). */
  body: unknown
  /** Request headers as Node parsed them (API keys included: they are test keys). */
  headers: IncomingHttpHeaders
  /** Clock time of arrival (ms). */
  arrivedAt: number
  /** Clock time it ended (ms); undefined while in flight. */
  endedAt: number | undefined
  /** How it ended. A 4xx/5xx, an error in a 200 body or a cut stream is `failed`; a client hang-up is `aborted`. */
  outcome: RequestOutcome
  /** The status sent, once sent. */
  status: number | undefined
  /** The fault applied, if any. */
  fault: FaultKind | undefined
}

/** Counters for one model (or all of them). */
export interface RequestStats {
  /** Requests that arrived. */
  arrivals: number
  /** Requests answered in full with a success. */
  completed: number
  /** Requests answered with an error status, an error in the body, or cut. */
  failed: number
  /** Requests the client gave up on before the answer ended. */
  aborted: number
  /** Requests a fault applied to. */
  faulted: number
  /** Requests in flight now. */
  inFlight: number
  /** The most requests in flight at once since the start (or the last `reset()`). */
  maxInFlight: number
  /** Clock time of the first and last arrival (ms); undefined before any. */
  firstArrivalAt: number | undefined
  lastArrivalAt: number | undefined
  /** Arrivals per URL path. */
  paths: Record<string, number>
}

/** `stats()`: the totals, and the same counters per model and per API key. */
export interface MockUpstreamStats extends RequestStats {
  /** Per model, keyed as requests name them. */
  models: Record<string, RequestStats>
  /** Per API key, keyed by the key requests carried; requests without a key are counted in no entry. */
  keys: Record<string, RequestStats>
}

/** Which recorded requests `requests()` returns; the fields combine. */
export interface RequestFilter {
  /** Only requests that named this model (`'*'`: the model list and bodies without a model). */
  model?: string
  /** Only requests that carried this API key. */
  apiKey?: string
}

function emptyStats(): RequestStats {
  return {
    arrivals: 0,
    completed: 0,
    failed: 0,
    aborted: 0,
    faulted: 0,
    inFlight: 0,
    maxInFlight: 0,
    firstArrivalAt: undefined,
    lastArrivalAt: undefined,
    paths: {},
  }
}

interface ModelRecord {
  stats: RequestStats
  requests: RecordedRequest[]
}

/** A request being served: the record and the counters it updates when it ends. */
export interface Arrival {
  readonly request: RecordedRequest
  readonly model: RequestStats
  /** The counters of the request's API key; undefined without a key. */
  readonly key: RequestStats | undefined
  readonly total: RequestStats
}

/** Keeps the counters and the most recent requests per model (bounded). */
export class Recorder {
  private total = emptyStats()
  private models = new Map<string, ModelRecord>()
  private keys = new Map<string, RequestStats>()
  private nextId = 1
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly maxRequests: number,
    private readonly recordBodies: boolean,
  ) {}

  arrive(
    fields: Pick<
      RecordedRequest,
      'model' | 'api' | 'apiKey' | 'method' | 'path' | 'stream' | 'body' | 'headers' | 'arrivedAt'
    >,
  ): Arrival {
    let model = this.models.get(fields.model)
    if (model === undefined) {
      model = { stats: emptyStats(), requests: [] }
      this.models.set(fields.model, model)
    }
    let key: RequestStats | undefined
    if (fields.apiKey !== undefined) {
      key = this.keys.get(fields.apiKey)
      if (key === undefined) {
        key = emptyStats()
        this.keys.set(fields.apiKey, key)
      }
    }
    const request: RecordedRequest = {
      id: this.nextId++,
      model: fields.model,
      api: fields.api,
      apiKey: fields.apiKey,
      method: fields.method,
      path: fields.path,
      stream: fields.stream,
      body: this.recordBodies ? fields.body : undefined,
      headers: fields.headers,
      arrivedAt: fields.arrivedAt,
      endedAt: undefined,
      outcome: 'in_flight',
      status: undefined,
      fault: undefined,
    }
    count(this.total, request)
    count(model.stats, request)
    if (key !== undefined) count(key, request)
    if (this.maxRequests > 0) {
      model.requests.push(request)
      // Amortised trimming: drop the oldest half when the buffer doubles.
      if (model.requests.length >= 2 * this.maxRequests)
        model.requests.splice(0, model.requests.length - this.maxRequests)
    }
    return { request, model: model.stats, key, total: this.total }
  }

  /** Ends a request once: counts its outcome and wakes `whenIdle()` waiters. */
  finish(arrival: Arrival, outcome: Exclude<RequestOutcome, 'in_flight'>, endedAt: number): void {
    const { request } = arrival
    if (request.outcome !== 'in_flight') return
    request.outcome = outcome
    request.endedAt = endedAt
    const faulted = request.fault !== undefined
    countEnd(arrival.model, outcome, faulted)
    if (arrival.key !== undefined) countEnd(arrival.key, outcome, faulted)
    countEnd(arrival.total, outcome, faulted)
    if (this.total.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const wake of waiters) wake()
    }
  }

  get inFlight(): number {
    return this.total.inFlight
  }

  whenIdle(): Promise<void> {
    if (this.total.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  stats(): MockUpstreamStats {
    const models: Record<string, RequestStats> = {}
    for (const [name, record] of this.models) models[name] = copy(record.stats)
    const keys: Record<string, RequestStats> = {}
    for (const [name, stats] of this.keys) keys[name] = copy(stats)
    return { ...copy(this.total), models, keys }
  }

  /** The kept requests of the filter's model (or of all), oldest first, narrowed to its API key if it names one. */
  requests(filter: RequestFilter = {}): RecordedRequest[] {
    const pick = (record: ModelRecord) => record.requests.slice(-this.maxRequests)
    let requests: RecordedRequest[]
    if (filter.model !== undefined) {
      const record = this.models.get(filter.model)
      requests = record ? pick(record) : []
    } else {
      requests = [...this.models.values()].flatMap(pick).sort((a, b) => a.id - b.id)
    }
    const { apiKey } = filter
    return apiKey === undefined ? requests : requests.filter((request) => request.apiKey === apiKey)
  }

  /** Forgets counters and requests. Requests still in flight finish uncounted; `maxInFlight` restarts from 0. */
  reset(): void {
    this.total = emptyStats()
    this.models = new Map()
    this.keys = new Map()
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const wake of waiters) wake()
  }
}

function count(stats: RequestStats, request: RecordedRequest): void {
  stats.arrivals++
  stats.inFlight++
  if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight
  stats.firstArrivalAt ??= request.arrivedAt
  stats.lastArrivalAt = request.arrivedAt
  stats.paths[request.path] = (stats.paths[request.path] ?? 0) + 1
}

function countEnd(stats: RequestStats, outcome: Exclude<RequestOutcome, 'in_flight'>, faulted: boolean): void {
  stats.inFlight--
  stats[outcome]++
  if (faulted) stats.faulted++
}

function copy(stats: RequestStats): RequestStats {
  return { ...stats, paths: { ...stats.paths } }
}
