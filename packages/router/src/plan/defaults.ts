import { CooldownTable, HealthCheckTable, schemaDefaults, TaskGroupWrappersGlobal } from '@llmpool/schema'
import type { TaskGroupWrappersGlobal as WrappersGlobal } from '@llmpool/schema'

/**
 * The built-in defaults, read from the schemas (the one place they are written): what a pool or task group called
 * by its own name gets, and what a wrappers file's `[global]` falls back to.
 */
export const GLOBAL_DEFAULTS: Readonly<WrappersGlobal> = Object.freeze(
  schemaDefaults<WrappersGlobal>(TaskGroupWrappersGlobal),
)

/** Passive health of a group that no pool contains (and no active probe). */
export const HEALTH_DEFAULTS: Readonly<HealthCheckTable> = Object.freeze(
  schemaDefaults<HealthCheckTable>(HealthCheckTable),
)

export const COOLDOWN_DEFAULTS: Readonly<CooldownTable> = Object.freeze(schemaDefaults<CooldownTable>(CooldownTable))

/** The first backoff of a retry on one instance (no TOML key: `retry.baseDelayMs` of the router's options). */
export const BASE_RETRY_DELAY_MS = 250

/**
 * `rpm_limit` is counted over a sliding window this much longer than a minute: the upstream counts a request when
 * it arrives, a moment after our limiter admitted it, and a window of exactly 60 s would let a request admitted one
 * minute after a slow-to-arrive one reach the upstream inside the upstream's own minute. See docs/limits.md.
 */
export const RPM_WINDOW_MS = 61_000

/** A request's deadline when it is computed: the walk's attempt timeouts, plus this much for everything else. */
export const DEADLINE_MARGIN_MS = 1_000
