import { statSync } from 'node:fs'
import { type Clock, type Disposable, systemClock, unref } from '@llmpool/schema'
import { type ConfigDiff, diffConfigs, isEmptyDiff } from './diff'
import { type LoadConfigOptions, normalizeOptions } from './load'
import { ConfigError, type ConfigProblem } from './problems'
import { resolveConfiguration, type ResolveResult } from './resolve'
import { ResolutionCache } from './resolution-cache'
import { SourceFiles } from './source-files'
import type { ResolvedConfig } from './types'
import { type DirectoryWatcher, watchDirectory } from './watch'

export interface ConfigStoreOptions extends LoadConfigOptions {
  /** Watch the directory and reload on changes. Default: the registry's `enable_hot_reload`. */
  watch?: boolean
  /** Quiet time (ms) after the last file event before reloading, so a burst of writes is one reload. Default 100. */
  debounceMs?: number
  /**
   * Before a watched or polled reload reads the files that changed, they must hold still: their size, mtime and
   * inode the same on two looks this many ms apart (else it looks again). A file caught halfway through a write is
   * not read. Default 50; 0 turns it off.
   */
  settleMs?: number
  /**
   * How long the first load may wait for a file caught half-written (a deploy, an editor, `cp`, as the process
   * starts): while it fails and one of the files it read was written less than 2 s ago, it reads again every
   * `settleMs` (at least 50 ms), until it loads or this many ms passed; a configuration that stays invalid then
   * fails with its problems. Real time, not `clock`. Default 0: fail at once (a long-running server wants a few
   * seconds: the gateway waits 3 s).
   */
  startupWaitMs?: number
  /** Applied and rejected loads kept in `history()`, each. Default 50. */
  historySize?: number
  /** Time source for debounce, polling and timestamps. */
  clock?: Clock
}

/** Why a reload ran. */
export type ReloadTrigger = 'watch' | 'poll' | 'manual'

/** Receives every applied configuration, after the swap: `current` is already `next`. */
export type ConfigListener = (next: ResolvedConfig, previous: ResolvedConfig, diff: ConfigDiff) => void

/** What happened to a configuration load, for monitoring. */
export type ConfigEvent =
  | { type: 'loaded'; at: number; hash: string; durationMs: number }
  | { type: 'reload_applied'; at: number; trigger: ReloadTrigger; hash: string; diff: ConfigDiff; durationMs: number }
  | { type: 'reload_unchanged'; at: number; trigger: ReloadTrigger; durationMs: number }
  | {
      type: 'reload_rejected'
      at: number
      trigger: ReloadTrigger
      errors: ConfigProblem[]
      warnings: ConfigProblem[]
      durationMs: number
    }
  | { type: 'watch_error'; at: number; error: unknown }
  | { type: 'listener_error'; at: number; error: unknown }

export type ReloadOutcome =
  | { status: 'applied'; config: ResolvedConfig; diff: ConfigDiff }
  | { status: 'unchanged'; config: ResolvedConfig }
  | { status: 'rejected'; config: ResolvedConfig; errors: ConfigProblem[]; warnings: ConfigProblem[] }

/** One configuration that was applied. */
export interface AppliedRecord {
  at: number
  hash: string
  /** `[registry] version`. */
  version: string | undefined
  /** Against the configuration before it; empty for the first load. */
  diff: ConfigDiff
  trigger: ReloadTrigger | 'initial'
}

/** One reload that was rejected: the configuration in force did not change. */
export interface RejectedRecord {
  at: number
  trigger: ReloadTrigger
  errors: ConfigProblem[]
}

export interface ConfigStats {
  /** Loads attempted, by result (the initial load counts as applied). */
  loads: { applied: number; rejected: number; unchanged: number }
  /** Time of the last load that produced the configuration in force. */
  lastGoodLoadAt: number
  /** Time of the last rejected reload, if any. */
  lastRejectedAt: number | undefined
  /** True while the directory is watched. */
  watching: boolean
}

/** The configuration in force, kept up to date by hot reload. */
export interface ConfigStore {
  /** The configuration in force: always complete, valid and frozen. Swapped in one assignment. */
  readonly current: ResolvedConfig
  /** Called after each applied reload with `(next, previous, diff)`. */
  subscribe(listener: ConfigListener): Disposable
  /** Load events: applied, unchanged, rejected, watcher and listener errors. */
  onEvent(listener: (event: ConfigEvent) => void): Disposable
  /** Re-runs the whole pipeline now; applies the result only when valid and different. Never throws. */
  reload(): Promise<ReloadOutcome>
  /** Applied and rejected loads, oldest first, bounded by `historySize`. */
  history(): { applied: readonly AppliedRecord[]; rejected: readonly RejectedRecord[] }
  stats(): ConfigStats
  /** Stops watching and polling. */
  dispose(): Promise<void>
}

const EMPTY_DIFF: ConfigDiff = {
  pools: { added: [], changed: [], removed: [] },
  task_groups: { added: [], changed: [], removed: [] },
  wrappers: { added: [], changed: [], removed: [] },
  registry: false,
}

class Store implements ConfigStore {
  current: ResolvedConfig
  private readonly listeners = new Set<ConfigListener>()
  private readonly eventListeners = new Set<(event: ConfigEvent) => void>()
  private readonly applied: AppliedRecord[] = []
  private readonly rejected: RejectedRecord[] = []
  private readonly counts = { applied: 1, rejected: 0, unchanged: 0 }
  private lastGoodLoadAt: number
  private lastRejectedAt: number | undefined
  private watcher: DirectoryWatcher | undefined
  private pollTimer: unknown
  private debounceTimer: unknown
  private pendingTrigger: ReloadTrigger | undefined
  /** Absolute paths the watcher reported since the last reload began. */
  private readonly changed = new Set<string>()
  private running: Promise<ReloadOutcome> | undefined
  private disposed = false

  constructor(
    private readonly files: SourceFiles,
    private readonly cache: ResolutionCache,
    private readonly options: ReturnType<typeof normalizeOptions> &
      Required<Pick<ConfigStoreOptions, 'debounceMs' | 'settleMs' | 'historySize' | 'clock'>> & {
        watch: boolean | undefined
      },
    initial: ResolveResult & { config: ResolvedConfig },
    durationMs: number,
  ) {
    this.current = initial.config
    this.lastGoodLoadAt = options.clock.now()
    this.record(this.applied, {
      at: this.lastGoodLoadAt,
      hash: initial.config.source.hash,
      version: initial.config.registry.registry.version,
      diff: EMPTY_DIFF,
      trigger: 'initial',
    })
    this.emit({ type: 'loaded', at: this.lastGoodLoadAt, hash: initial.config.source.hash, durationMs })
  }

  async start(): Promise<void> {
    await this.applySettings()
  }

  subscribe(listener: ConfigListener): Disposable {
    this.listeners.add(listener)
    return { dispose: () => void this.listeners.delete(listener) }
  }

  onEvent(listener: (event: ConfigEvent) => void): Disposable {
    this.eventListeners.add(listener)
    return { dispose: () => void this.eventListeners.delete(listener) }
  }

  history() {
    return { applied: [...this.applied], rejected: [...this.rejected] }
  }

  stats(): ConfigStats {
    return {
      loads: { ...this.counts },
      lastGoodLoadAt: this.lastGoodLoadAt,
      lastRejectedAt: this.lastRejectedAt,
      watching: this.watcher !== undefined,
    }
  }

  reload(trigger: ReloadTrigger = 'manual'): Promise<ReloadOutcome> {
    // One reload at a time; a request during a reload runs once more after it, with the newest files.
    const previous = this.running ?? Promise.resolve(undefined)
    const next = previous.then(() => this.runReload(trigger))
    this.running = next
    void next.finally(() => {
      if (this.running === next) this.running = undefined
    })
    return next
  }

  private async runReload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (trigger !== 'manual') await this.settle(trigger)
    this.changed.clear()
    const started = performance.now()
    const cacheEnabled = this.current.registry.global.cache_enabled
    this.files.cacheEnabled = cacheEnabled
    // The watcher invalidated every path it saw change; polling and manual reloads check every file.
    this.files.trustCache = trigger === 'watch'
    const result = resolveConfiguration(this.files, this.options, cacheEnabled ? this.cache : new ResolutionCache(true))
    const at = this.options.clock.now()
    const durationMs = performance.now() - started
    if (!result.config) {
      this.counts.rejected++
      this.lastRejectedAt = at
      this.record(this.rejected, { at, trigger, errors: result.errors })
      this.emit({ type: 'reload_rejected', at, trigger, errors: result.errors, warnings: result.warnings, durationMs })
      return { status: 'rejected', config: this.current, errors: result.errors, warnings: result.warnings }
    }
    const previous = this.current
    if (result.config.source.hash === previous.source.hash) {
      this.counts.unchanged++
      this.emit({ type: 'reload_unchanged', at, trigger, durationMs })
      return { status: 'unchanged', config: previous }
    }
    const diff = diffConfigs(previous, result.config)
    this.current = result.config
    this.counts.applied++
    this.lastGoodLoadAt = at
    this.record(this.applied, {
      at,
      hash: result.config.source.hash,
      version: result.config.registry.registry.version,
      diff,
      trigger,
    })
    this.emit({ type: 'reload_applied', at, trigger, hash: result.config.source.hash, diff, durationMs })
    if (!isEmptyDiff(diff) || diff.registry) {
      for (const listener of [...this.listeners]) {
        try {
          listener(result.config, previous, diff)
        } catch (error) {
          this.emit({ type: 'listener_error', at, error })
        }
      }
    }
    await this.applySettings()
    return { status: 'applied', config: result.config, diff }
  }

  /**
   * Waits until the files this reload is about to read hold still: those the watcher reported, or (polling) those
   * whose size, mtime or inode differ from when they were last read. Two looks `settleMs` apart must agree; a file
   * still being written is looked at again, up to `MAX_SETTLE_ROUNDS` times (then it is read as it is).
   */
  private async settle(trigger: ReloadTrigger): Promise<void> {
    const { settleMs, clock } = this.options
    if (settleMs === 0) return
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      const paths = trigger === 'watch' ? [...this.changed] : this.files.changedSinceRead()
      if (paths.length === 0) return
      const before = paths.map(fileState)
      await new Promise<void>((resolve) => clock.setTimeout(resolve, settleMs))
      if (
        paths.every((file, index) => fileState(file) === before[index]) &&
        (trigger !== 'watch' || this.changed.size === paths.length)
      )
        return
    }
  }

  /** Starts or stops watching and polling to match the options and the registry's `[global]`. */
  private async applySettings(): Promise<void> {
    if (this.disposed) return
    const global = this.current.registry.global
    const watch = this.options.watch ?? global.enable_hot_reload
    if (watch && !this.watcher) {
      this.watcher = await watchDirectory(this.options.directory, {
        onChange: (paths) => {
          this.files.invalidate(paths)
          for (const file of paths) this.changed.add(file)
          this.schedule('watch')
        },
        onError: (error) => this.emit({ type: 'watch_error', at: this.options.clock.now(), error }),
      })
      if (this.disposed) await this.stopWatching()
    } else if (!watch && this.watcher) await this.stopWatching()
    this.options.clock.clearTimeout(this.pollTimer)
    this.pollTimer = undefined
    if (watch && !this.disposed) this.schedulePoll(global.reload_interval * 1000)
  }

  private schedulePoll(intervalMs: number): void {
    this.pollTimer = this.options.clock.setTimeout(() => {
      void this.reload('poll').finally(() => {
        if (!this.disposed && this.watcher) this.schedulePoll(this.current.registry.global.reload_interval * 1000)
      })
    }, intervalMs)
    unref(this.pollTimer)
  }

  /** Debounce: each event restarts the quiet period; one reload follows the last event. */
  private schedule(trigger: ReloadTrigger): void {
    if (this.disposed) return
    this.pendingTrigger = trigger
    this.options.clock.clearTimeout(this.debounceTimer)
    this.debounceTimer = this.options.clock.setTimeout(() => {
      this.debounceTimer = undefined
      const pending = this.pendingTrigger ?? 'watch'
      this.pendingTrigger = undefined
      void this.reload(pending)
    }, this.options.debounceMs)
  }

  private async stopWatching(): Promise<void> {
    const watcher = this.watcher
    this.watcher = undefined
    await watcher?.close()
  }

  async dispose(): Promise<void> {
    this.disposed = true
    this.options.clock.clearTimeout(this.debounceTimer)
    this.options.clock.clearTimeout(this.pollTimer)
    await this.stopWatching()
    await this.running?.catch(() => undefined)
  }

  private record<T>(list: T[], item: T): void {
    list.push(item)
    while (list.length > this.options.historySize) list.shift()
  }

  private emit(event: ConfigEvent): void {
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event)
      } catch {
        // An event listener that throws must not stop the store; there is nowhere else to report it.
      }
    }
  }
}

/** A file written this recently (ms) may be half-written: a failing first load waits for it (`startupWaitMs`). */
const RECENT_WRITE_MS = 2_000

/** Looks at a file before reading it: a file still being written is given this many `settleMs` periods at most. */
const MAX_SETTLE_ROUNDS = 40

/** Size, mtime and inode of a file, or `missing`: what two looks must agree on. */
function fileState(file: string): string {
  try {
    const stats = statSync(file)
    return `${stats.size}:${stats.mtimeMs}:${stats.ino}`
  } catch {
    return 'missing'
  }
}

/**
 * Loads a configuration directory and keeps it current. With hot reload (the registry's `enable_hot_reload`, or the
 * `watch` option) it watches the directory recursively, debounces bursts of changes, re-runs the whole pipeline, and
 * swaps the configuration atomically only when the new one is valid; otherwise the last good configuration stays and a
 * `reload_rejected` event carries the problems. Rejects with a `ConfigError` when the first load is invalid.
 */
export async function createConfigStore(options: ConfigStoreOptions): Promise<ConfigStore> {
  const debounceMs = options.debounceMs ?? 100
  const settleMs = options.settleMs ?? 50
  const historySize = options.historySize ?? 50
  if (!(Number.isFinite(debounceMs) && debounceMs >= 0))
    throw new RangeError(`debounceMs must be a number ≥ 0 (got ${debounceMs})`)
  if (!(Number.isFinite(settleMs) && settleMs >= 0))
    throw new RangeError(`settleMs must be a number ≥ 0 (got ${settleMs})`)
  if (!(Number.isInteger(historySize) && historySize >= 1))
    throw new RangeError(`historySize must be an integer ≥ 1 (got ${historySize})`)
  const normalized = normalizeOptions(options)
  const files = new SourceFiles(normalized.directory, true)
  const cache = new ResolutionCache(true)
  const startupWaitMs = options.startupWaitMs ?? 0
  if (!(Number.isFinite(startupWaitMs) && startupWaitMs >= 0))
    throw new RangeError(`startupWaitMs must be a number ≥ 0 (got ${startupWaitMs})`)
  const started = performance.now()
  let result = resolveConfiguration(files, normalized, cache)
  const giveUpAt = Date.now() + startupWaitMs
  while (!result.config && Date.now() < giveUpAt && Date.now() - (files.lastWrittenMs() ?? 0) < RECENT_WRITE_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(settleMs, 50)))
    result = resolveConfiguration(files, normalized, cache)
  }
  if (!result.config) throw new ConfigError(result.errors, result.warnings)
  files.cacheEnabled = result.config.registry.global.cache_enabled
  const store = new Store(
    files,
    cache,
    { ...normalized, debounceMs, settleMs, historySize, clock: options.clock ?? systemClock, watch: options.watch },
    result as ResolveResult & { config: ResolvedConfig },
    performance.now() - started,
  )
  await store.start()
  return store
}
