import type { ConfigStore } from '@llmpool/config'
import type { Router, RoutingPlan } from '@llmpool/router'
import { type Clock, type Disposable, DisposedError, systemClock, unref } from '@llmpool/schema'
import { ConfigHistory, summarizeDiff } from './config-history'
import { EventLog } from './event-log'
import { instanceView, poolView } from './instance-view'
import { Recorder } from './recorder'
import { buildTree } from './tree'
import type { HelloMessage, HistoryRecord, LiveState, SeriesPoint, TickMessage, TreeNode } from './types'

export interface DashboardFeedOptions {
  /** The router whose state and events are shown. */
  router: Router
  /** The configuration store the router follows, for the configuration's hash, version and history. */
  store?: ConfigStore
  /** The router's clock, when it has one of its own (tests). Default: the system clock. */
  clock?: Clock
  /** Milliseconds between two snapshots of the router while a page is connected. Default 1000. */
  intervalMs?: number
  /** Seconds of per-second figures kept for the charts. Default 900 (15 minutes). */
  historySeconds?: number
  /** Seconds over which an instance's rates, error rate and latency are figured. Default 60. */
  windowSeconds?: number
  /** Events kept for a page that connects later. Default 500. */
  eventBacklog?: number
}

/** One connected page: gets each message as text, in the server-sent events format. */
export type FeedWriter = (chunk: string) => void

/** A message in the server-sent events format: `event:` line, one `data:` line of JSON, blank line. */
export const sseMessage = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/**
 * The dashboard's data: the router's live state, per-second figures of every instance, the event feed and the
 * configuration's history — and the ticker that sends them to the connected pages.
 *
 * The figures and events are recorded from the router's events from creation on (a few array writes per event).
 * Snapshots of the router's state are taken only while at least one page is connected, at most once per
 * `intervalMs` whatever the number of pages: one ticker serializes one message and writes the same text to every
 * page, so a page costs a socket write per tick, and routing never waits for the dashboard.
 */
export class DashboardFeed {
  readonly intervalMs: number
  readonly historySeconds: number
  readonly windowSeconds: number
  private readonly router: Router
  private readonly store: ConfigStore | undefined
  private readonly clock: Clock
  private readonly recorder: Recorder
  private readonly events: EventLog
  private readonly history: ConfigHistory
  private readonly subscriptions: Disposable[] = []
  private readonly clients = new Set<FeedWriter>()
  private timer: unknown
  /** What the ticks have sent so far: complete seconds up to `second`, events up to `seq`. */
  private cursor = { second: 0, seq: 0 }
  private latest: { state: LiveState; takenAt: number } | undefined
  private pending: Promise<LiveState> | undefined
  private plan: RoutingPlan | undefined
  private tree: TreeNode[] = []
  private historyChanged = false
  private closed = false
  /** Snapshots of the router's state taken so far (for tests and the benchmark: one per tick at most). */
  snapshots = 0

  constructor(options: DashboardFeedOptions) {
    this.router = options.router
    this.store = options.store
    this.clock = options.clock ?? systemClock
    this.intervalMs = options.intervalMs ?? 1000
    this.historySeconds = options.historySeconds ?? 900
    this.windowSeconds = options.windowSeconds ?? 60
    if (!(this.intervalMs >= 100)) throw new RangeError(`intervalMs must be ≥ 100 (got ${options.intervalMs})`)
    if (!(Number.isInteger(this.historySeconds) && this.historySeconds >= 60))
      throw new RangeError(`historySeconds must be an integer ≥ 60 (got ${options.historySeconds})`)
    if (!(Number.isInteger(this.windowSeconds) && this.windowSeconds >= 1 && this.windowSeconds <= this.historySeconds))
      throw new RangeError(`windowSeconds must be an integer from 1 to historySeconds (got ${options.windowSeconds})`)
    this.recorder = new Recorder(this.historySeconds)
    this.events = new EventLog(options.eventBacklog ?? 500)
    this.history = new ConfigHistory(this.store)
    const { recorder, events } = this
    this.subscriptions.push(
      this.router.on((event) => {
        recorder.record(event)
        events.recordRouter(event)
      }),
    )
    if (this.store) {
      this.subscriptions.push(
        this.store.onEvent((event) => {
          if (event.type === 'reload_applied' || event.type === 'reload_rejected') this.historyChanged = true
          events.recordConfig(event, (applied) => summarizeDiff(applied.diff).join(', ') || 'no entry changed')
        }),
      )
    }
  }

  /** Pages connected now. */
  get clientCount(): number {
    return this.clients.size
  }

  /** The configuration in force: its content hash and `[registry] version`. */
  configuration(): LiveState['configuration'] {
    const config = this.store?.current ?? this.router.config
    return { hash: config.source.hash, version: config.registry.registry?.version }
  }

  /** The configuration's applied and rejected loads, oldest first. */
  configurationHistory(): HistoryRecord[] {
    return this.history.records()
  }

  /** The targets tree of the plan in force (made again after a reload). */
  targets(): TreeNode[] {
    const plan = this.router.plan
    if (plan !== this.plan) {
      this.plan = plan
      this.tree = buildTree(plan)
      this.recorder.retain(new Set(plan.instances.keys()))
    }
    return this.tree
  }

  /** The router's live state: taken at most once per `intervalMs`, shared by every caller within it. */
  live(): Promise<LiveState> {
    const now = this.clock.now()
    if (this.latest && now - this.latest.takenAt < this.intervalMs) return Promise.resolve(this.latest.state)
    return (this.pending ??= this.take().finally(() => (this.pending = undefined)))
  }

  private async take(): Promise<LiveState> {
    this.snapshots++
    const state = await this.router.state()
    const now = this.clock.now()
    // Figures up to the last complete second: the current one is still being counted.
    const second = Math.floor(now / 1000) - 1
    const live: LiveState = {
      at: now,
      configuration: this.configuration(),
      instances: state.instances.map((instance) =>
        instanceView(instance, now, this.recorder, second, this.windowSeconds),
      ),
      pools: state.pools.map(poolView),
    }
    this.latest = { state: live, takenAt: now }
    return live
  }

  /** Everything a page needs to draw, as of now; the ticks that follow continue from it. */
  async hello(): Promise<HelloMessage> {
    const state = await this.live()
    if (this.clients.size === 0)
      this.cursor = { second: Math.floor(this.clock.now() / 1000) - 1, seq: this.events.last }
    return this.helloFrom(state)
  }

  private helloFrom(state: LiveState): HelloMessage {
    const { second, seq } = this.cursor
    return {
      ...state,
      intervalMs: this.intervalMs,
      historySeconds: this.historySeconds,
      tree: this.targets(),
      history: this.history.records(),
      series: this.points(second - this.historySeconds + 1, second),
      events: this.events.upTo(seq, 200),
    }
  }

  /** The per-second figures of `from..to`, only seconds with traffic. */
  private points(from: number, to: number): SeriesPoint[] {
    const instances = this.recorder.instances()
    const points: SeriesPoint[] = []
    for (let second = Math.max(from, to - this.historySeconds + 1); second <= to; second++) {
      let values: SeriesPoint['values'] | undefined
      for (const instance of instances) {
        const figures = this.recorder.second(instance, second)
        if (figures) (values ??= {})[instance] = figures
      }
      if (values) points.push({ t: second * 1000, values })
    }
    return points
  }

  /**
   * Connects a page: writes the hello message, then a tick message every `intervalMs` until the returned
   * subscription is disposed. Starts the ticker with the first page, stops it after the last.
   */
  async connect(write: FeedWriter): Promise<Disposable> {
    if (this.closed) throw new DisposedError('the dashboard feed')
    const state = await this.live()
    // From here on synchronous: the hello covers exactly what the ticks have sent, so the page misses nothing.
    if (this.clients.size === 0)
      this.cursor = { second: Math.floor(this.clock.now() / 1000) - 1, seq: this.events.last }
    write(sseMessage('hello', this.helloFrom(state)))
    this.clients.add(write)
    if (this.timer === undefined) this.schedule()
    return { dispose: () => this.disconnect(write) }
  }

  private disconnect(write: FeedWriter): void {
    this.clients.delete(write)
    if (this.clients.size === 0 && this.timer !== undefined) {
      this.clock.clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => void this.tick(), this.intervalMs)
    unref(this.timer)
  }

  /** One tick: one snapshot, one message, the same text to every page. */
  private async tick(): Promise<void> {
    try {
      const state = await this.live()
      if (this.clients.size === 0) return
      const message = this.tickMessage(state)
      const text = sseMessage('tick', message)
      for (const write of [...this.clients]) write(text)
    } catch {
      // A failed snapshot (a shared limiter's Redis away) skips one tick; the next one tries again.
    } finally {
      if (this.clients.size > 0 && !this.closed) this.schedule()
      else this.timer = undefined
    }
  }

  private tickMessage(state: LiveState): TickMessage {
    const second = Math.floor(state.at / 1000) - 1
    const previousPlan = this.plan
    const tree = this.targets()
    const message: TickMessage = {
      ...state,
      points: second > this.cursor.second ? this.points(this.cursor.second + 1, second) : [],
      events: this.events.since(this.cursor.seq),
    }
    if (this.plan !== previousPlan) message.tree = tree
    if (this.historyChanged) {
      this.historyChanged = false
      message.history = this.history.records()
    }
    this.cursor = { second: Math.max(second, this.cursor.second), seq: this.events.last }
    return message
  }

  /** Stops the ticker and the subscriptions; connected pages get nothing more (the handler ends their responses). */
  close(): void {
    this.closed = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.clients.clear()
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose()
    this.history.dispose()
  }
}
