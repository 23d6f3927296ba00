import type { FailureKind } from '@llmpool/breaker'
import type { LimitSpec } from '@llmpool/limiter'

/**
 * The compiled routing plan: the resolved configuration turned into what the router runs — camelCase names,
 * milliseconds, every default applied once, and for every value where it came from. The router, the wrappers and
 * the gateway read only this; no TOML key or seconds survive past `compilePlan`. See docs/routing.md.
 */
export interface RoutingPlan {
  /** Every instance of every enabled task group, by key. */
  readonly instances: ReadonlyMap<string, InstancePlan>
  /** Every name a caller may use (wrappers, pools, task groups), by name. */
  readonly entries: ReadonlyMap<string, EntryPlan>
  /** Every enabled pool's own settings (the admission limit), by name. */
  readonly pools: ReadonlyMap<string, PoolSettings>
}

/** Where a value of the plan comes from, in words an operator can follow to the file: `task-groups/fast-group.toml: echelons.echelon1.timeout`. */
export type Source = string

/**
 * One instance: (task group, echelon, model[, key]). The unit that has state: breaker, health, cooldown, limits.
 * The values that depend on how the instance is reached (attempt timeout, retries) are on its `Candidate`s.
 */
export interface InstancePlan {
  /** `task_group.echelon/provider:model`, with `#N` (1-based) for the Nth of an echelon's `api_keys`. Never a key. */
  readonly key: string
  /**
   * What makes it the same instance across a reload: group, echelon, provider:model, a digest of its API key and its
   * base URL. An instance whose identity is unchanged keeps its breaker, health, cooldown and limiter state.
   */
  readonly identity: string
  /**
   * The name its shared state (breaker, cooldown) has in other processes: the key and a digest of the identity, so
   * that a new API key or base URL is a new instance everywhere, not only here.
   */
  readonly shareKey: string
  readonly group: string
  readonly echelon: string
  /** `provider:model` */
  readonly model: string
  readonly provider: string
  readonly modelId: string
  /** 1-based position in the echelon's `api_keys`; undefined with `api_key` or none. */
  readonly keyIndex: number | undefined
  /** The API key (a secret: never printed; `planToJSON` leaves it out). Undefined: the provider's default. */
  readonly apiKey: string | undefined
  /** The base URL; undefined: the provider's default (which reads `OPENAI_BASE_URL` etc.). */
  readonly baseURL: string | undefined
  /** Lower is tried first. */
  readonly priority: number
  readonly temperature: number | undefined
  readonly maxTokens: number | undefined
  /** The echelon's `rpm_limit` (a sliding window) and `concurrency_limit`, per instance. */
  readonly limits: readonly LimitSpec[]
  readonly breaker: {
    readonly failureThreshold: number
    readonly recoveryTimeMs: number
    readonly halfOpenRequests: number
  }
  /** Passive health, and the active probe interval (undefined: no probe), from the pools that contain the group. */
  readonly health: {
    readonly failureThreshold: number
    readonly recoveryTimeMs: number
    readonly intervalMs: number | undefined
  }
  /** How long a 429/529 without a hint rests the instance, and the longest rest (also for a refused key). */
  readonly cooldown: { readonly defaultMs: number; readonly maxMs: number }
  /** Where each of the values above comes from. */
  readonly sources: Readonly<Record<string, Source>>
}

/**
 * An instance as one entry reaches it: the instance, and the per-attempt values that the echelon sets or the entry's
 * `[global]` defaults. Satisfies what a rotation strategy reads (`InstanceView`) through the instance.
 */
export interface CandidatePlan {
  readonly instance: string
  /** Longest time of one attempt (for a stream: until its first content part, unless `firstTokenTimeoutMs`). */
  readonly attemptTimeoutMs: number
  /** Streams: longest time until the first content part. */
  readonly firstTokenTimeoutMs: number
  /** Retries of this instance within one request, for failures retrying may cure. */
  readonly maxRetries: number
  readonly sources: Readonly<Record<'attemptTimeoutMs' | 'firstTokenTimeoutMs' | 'maxRetries', Source>>
}

/** One echelon of a task group's chain. */
export interface StepPlan {
  /** `task_group.echelon` */
  readonly label: string
  readonly candidates: readonly CandidatePlan[]
}

/** How a request to a task group walks: its chain of echelons. */
export interface GroupRoutePlan {
  readonly kind: 'task_group'
  readonly group: string
  readonly steps: readonly StepPlan[]
  /** `fallback.max_attempts`: instances one request may try. */
  readonly maxInstances: number
  /** `fallback.retry_delay`: the pause when a request leaves an echelon that has nothing left to try. */
  readonly stepDelayMs: number
  /** `fallback.hedge_after`; undefined: no hedging. */
  readonly hedgeAfterMs: number | undefined
  readonly sources: Readonly<Record<string, Source>>
}

/** One pool of a pool request's chain (the pool, then its fallback pools). */
export interface PoolStagePlan {
  readonly pool: string
  /** The rotation strategy's name (`round_robin`, ..., `custom:NAME`). */
  readonly strategy: string
  /** Tiers in the order they are tried; within a tier the strategy orders. */
  readonly tiers: readonly (readonly CandidatePlan[])[]
  /** `weighted`: the weight of each instance by key. */
  readonly weights: ReadonlyMap<string, number>
  /** `max_instance_attempts`: instances tried in this pool. */
  readonly maxInstances: number
  /** `fallback.hedge_after`; undefined: no hedging. */
  readonly hedgeAfterMs: number | undefined
  readonly sources: Readonly<Record<string, Source>>
}

export interface PoolRoutePlan {
  readonly kind: 'pool'
  /** The pool first, then (under `pool_fallback`) each fallback pool once. */
  readonly stages: readonly PoolStagePlan[]
}

export type RoutePlan = GroupRoutePlan | PoolRoutePlan

/** A pool's own settings, shared by every entry that reaches it. */
export interface PoolSettings {
  readonly name: string
  /** `[pool.rate_limiting]`, when enabled: admission of each request to the pool. */
  readonly admission: LimitSpec | undefined
  readonly metrics: { readonly enabled: boolean; readonly intervalMs: number; readonly retentionMs: number }
}

/** How retries on one instance wait, and which failures they are for. */
export interface RetryPlan {
  /** Failure kinds retried on the same instance (when retrying it is allowed at all: see docs/routing.md). */
  readonly retryOn: readonly FailureKind[]
  readonly baseDelayMs: number
  readonly backoffFactor: number
  /** Longest backoff, and the longest upstream retry hint the request waits for rather than moving on. */
  readonly maxRetryDelayMs: number
}

/** What an entry's `[global]` sets besides routing: cache, logging, tool calling. */
export interface EntryServices {
  readonly cache: { readonly maxSize: number; readonly ttlMs: number } | undefined
  readonly metrics: boolean
  readonly logging: {
    readonly level: 'debug' | 'info' | 'warn' | 'error'
    readonly format: 'json' | 'text'
    readonly requests: boolean
    readonly responses: boolean
  }
  /** Task-group wrappers only: `function_calling_enabled` and `tool_selection_strategy`. */
  readonly tools: { readonly enabled: boolean; readonly selection: 'auto' | 'manual' | 'priority' } | undefined
}

/** A name a caller may use — a wrapper, a pool or a task group — and everything a request through it does. */
export interface EntryPlan {
  readonly name: string
  readonly kind: 'wrapper' | 'pool' | 'task_group'
  /** The pool or task group requests go to. */
  readonly target: string
  /** The wrappers file whose `[global]` applies; undefined for a pool or task group called by its own name. */
  readonly file: string | undefined
  readonly route: RoutePlan
  /** The overall deadline of a request: `[global] request_timeout`, else room to walk the chain once. */
  readonly requestTimeoutMs: number
  /** Most upstream calls of one request (retries, fallbacks and hedges together): a safety cap. */
  readonly maxCalls: number
  readonly retry: RetryPlan
  readonly services: EntryServices
  readonly sources: Readonly<Record<string, Source>>
}
