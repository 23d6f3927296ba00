// What the dashboard's data feed sends: the contract between the server (src/) and the page (page/). Plain data
// only, no imports, so that the page's bundle can share these types without pulling in server code.

/** One node of the targets tree: wrappers → pools → tiers → `group.echelon` → instances (→ keys). */
export interface TreeNode {
  /** What the node is. */
  kind: 'wrapper' | 'pool' | 'tier' | 'task_group' | 'echelon' | 'model' | 'instance' | 'fallback_pool'
  /** The name as the configuration writes it (`fast_pool`, `fast_group.echelon1`, an instance key). */
  name: string
  /** A short label for the row (`tier 1`, `openai:gpt-4o`, `key 2`). */
  label: string
  /** For `instance` nodes: the instance key, which names its live figures in `InstanceView`. */
  instance?: string
  /** Extra words for the row: a pool's rotation strategy, a wrapper's target kind. */
  detail?: string
  children?: TreeNode[]
}

/** A limit's fill: what is free now out of the most it admits. */
export interface Fill {
  available: number
  limit: number
}

/** Rates and latency of one instance over the last minute (`DashboardFeed` `windowSeconds`). */
export interface InstanceWindow {
  /** Attempts ended per second. */
  requestsPerSecond: number
  /** Failed attempts ÷ attempts, 0..1; 0 without attempts. */
  errorRate: number
  /** Bucket estimates (ms); undefined without attempts. */
  p50Ms: number | undefined
  p99Ms: number | undefined
  inputTokens: number
  outputTokens: number
}

/** One instance's live state, as the router reports it, with its figures. */
export interface InstanceView {
  /** `task_group.echelon/provider:model`, `#N` for the Nth key of an echelon's `api_keys`. Never a key itself. */
  key: string
  group: string
  echelon: string
  model: string
  /**
   * The one word that sums it up, worst first: `open` (breaker open), `unhealthy`, `cooldown`, `half_open` (trial),
   * `draining` (removed by a reload, finishing its calls), `ok`.
   */
  status: 'ok' | 'open' | 'half_open' | 'cooldown' | 'unhealthy' | 'draining'
  breaker: {
    state: 'closed' | 'open' | 'half_open'
    /** Consecutive failures counted toward a trip. */
    failures: number
    /** While open: ms until the next trial call is allowed. */
    nextTrialInMs?: number
  }
  health: {
    healthy: boolean
    consecutiveFailures: number /** While unhealthy: ms until it is tried again. */
    retryAfterMs: number
  }
  /** While the instance rests after a 429, a 529 or a refused key. */
  cooldown?: { kind: string; reason: string; remainingMs: number; remote: boolean }
  /** The echelon's `rpm_limit` (a sliding window) and `concurrency_limit`; absent when not set. */
  limits: { rpm?: Fill; concurrency?: Fill }
  /** Calls to it in flight now. */
  inFlight: number
  window: InstanceWindow
}

/** A pool's admission limit (`[pool.rate_limiting]`), when it has one. */
export interface PoolView {
  name: string
  limit?: Fill & { kind: string }
}

/** Something that happened that an operator would want to see, newest last. */
export interface FeedEvent {
  /** Increases by one per event, for the page to know what it has. */
  seq: number
  /** Clock time (ms since the epoch with the default clock). */
  at: number
  type:
    | 'fallback'
    | 'retry'
    | 'hedge'
    | 'timeout'
    | 'breaker_open'
    | 'breaker_half_open'
    | 'breaker_closed'
    | 'cooldown'
    | 'unhealthy'
    | 'healthy'
    | 'rate_limited'
    | 'request_failed'
    | 'reload_applied'
    | 'reload_rejected'
    | 'watch_error'
  /** `info`, `warn` (something was worked around) or `error` (something failed). */
  level: 'info' | 'warn' | 'error'
  /** The pool or task group of the request, when the event belongs to one. */
  target?: string
  /** The instance key, when the event belongs to one. */
  instance?: string
  /** What happened, in words. */
  text: string
}

/** One load of the configuration: applied, or rejected with its problems. */
export interface HistoryRecord {
  at: number
  status: 'applied' | 'rejected'
  /** `initial`, `watch`, `poll`, `manual`. */
  trigger: string
  /** Applied: the content hash and `[registry] version` of the configuration. */
  hash?: string
  version?: string
  /** Applied: what changed, one line per section entry (`~ pools.fast_pool`). */
  summary?: string[]
  /**
   * Applied, for reloads this process saw: every changed value (`pools.fast_pool.rate_limiting.token_bucket.bucket_size`)
   * with its value before and after, as JSON text. Secret-named keys show `(changed)` only.
   */
  changes?: { path: string; before?: string; after?: string }[]
  /** Rejected: why, with the file and line. */
  problems?: { file: string; line?: number; path: string; message: string }[]
}

/** The configuration in force. */
export interface ConfigurationView {
  hash: string
  version: string | undefined
}

/** Per-second figures of the instances, oldest first: `values[key]` is `[requests, errors, p50Ms, p99Ms, inputTokens, outputTokens]`. */
export interface SeriesPoint {
  /** Start of the second (clock ms). */
  t: number
  /** Only the instances with traffic in that second; the others had none. */
  values: Record<string, [number, number, number | null, number | null, number, number]>
}

/** The live part, sent every tick. */
export interface LiveState {
  at: number
  configuration: ConfigurationView
  instances: InstanceView[]
  pools: PoolView[]
}

/** The first message on a feed: everything the page needs to draw. */
export interface HelloMessage extends LiveState {
  /** Milliseconds between ticks. */
  intervalMs: number
  /** Seconds of figures the page keeps (15 minutes). */
  historySeconds: number
  tree: TreeNode[]
  history: HistoryRecord[]
  /** Up to `historySeconds` of per-second figures, oldest first. */
  series: SeriesPoint[]
  /** The latest events, oldest first. */
  events: FeedEvent[]
}

/** Every tick after the hello: what changed since the previous message. */
export interface TickMessage extends LiveState {
  /** Seconds completed since the previous message. */
  points: SeriesPoint[]
  /** Events since the previous message. */
  events: FeedEvent[]
  /** Sent when a reload changed the targets. */
  tree?: TreeNode[]
  /** Sent when the configuration's history changed (a reload applied or rejected). */
  history?: HistoryRecord[]
}
