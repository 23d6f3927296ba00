// What the page knows: the hello message, kept up to date by the ticks. Plain functions from message to state.
import type {
  FeedEvent,
  HelloMessage,
  HistoryRecord,
  InstanceView,
  PoolView,
  SeriesPoint,
  TickMessage,
  TreeNode,
} from '../src/types'

/** Events the page keeps (the feed shows the newest first). */
const MAX_EVENTS = 500

export interface Model {
  at: number
  intervalMs: number
  historySeconds: number
  configuration: HelloMessage['configuration']
  tree: TreeNode[]
  instances: Map<string, InstanceView>
  pools: PoolView[]
  /** Per-second figures, oldest first, only seconds with traffic. */
  points: SeriesPoint[]
  events: FeedEvent[]
  history: HistoryRecord[]
}

export function fromHello(hello: HelloMessage): Model {
  return {
    at: hello.at,
    intervalMs: hello.intervalMs,
    historySeconds: hello.historySeconds,
    configuration: hello.configuration,
    tree: hello.tree,
    instances: new Map(hello.instances.map((instance) => [instance.key, instance])),
    pools: hello.pools,
    points: hello.series,
    events: hello.events.slice(-MAX_EVENTS),
    history: hello.history,
  }
}

export function withTick(model: Model, tick: TickMessage): Model {
  const oldest = tick.at - model.historySeconds * 1000
  const points = [...model.points, ...tick.points]
  let drop = 0
  while (drop < points.length && points[drop]!.t < oldest) drop++
  const events = tick.events.length > 0 ? [...model.events, ...tick.events].slice(-MAX_EVENTS) : model.events
  return {
    ...model,
    at: tick.at,
    configuration: tick.configuration,
    tree: tick.tree ?? model.tree,
    instances: new Map(tick.instances.map((instance) => [instance.key, instance])),
    pools: tick.pools,
    points: drop > 0 ? points.slice(drop) : points,
    events,
    history: tick.history ?? model.history,
  }
}

/** One instance's (or all instances') figures as dense columns, one value per second, for the charts. */
export interface Columns {
  /** Start of each second, in seconds (uPlot's time scale). */
  times: number[]
  requests: number[]
  errors: number[]
  p50: (number | null)[]
  p99: (number | null)[]
  inputTokens: number[]
  outputTokens: number[]
}

/**
 * The last `seconds` seconds up to the model's time as dense columns: of one instance, or summed over all
 * (`instance` undefined; latency then shows the slowest instance's p50 and p99 of each second).
 */
export function columns(model: Model, instance: string | undefined, seconds = model.historySeconds): Columns {
  const end = Math.floor(model.at / 1000) - 1
  const start = end - seconds + 1
  const result: Columns = { times: [], requests: [], errors: [], p50: [], p99: [], inputTokens: [], outputTokens: [] }
  for (let second = start; second <= end; second++) {
    result.times.push(second)
    result.requests.push(0)
    result.errors.push(0)
    result.p50.push(null)
    result.p99.push(null)
    result.inputTokens.push(0)
    result.outputTokens.push(0)
  }
  for (const point of model.points) {
    const index = point.t / 1000 - start
    if (index < 0 || index >= seconds) continue
    const entries =
      instance === undefined ? Object.values(point.values) : point.values[instance] ? [point.values[instance]] : []
    for (const [requests, errors, p50, p99, inputTokens, outputTokens] of entries) {
      result.requests[index]! += requests
      result.errors[index]! += errors
      result.inputTokens[index]! += inputTokens
      result.outputTokens[index]! += outputTokens
      if (p50 !== null) result.p50[index] = Math.max(result.p50[index] ?? 0, p50)
      if (p99 !== null) result.p99[index] = Math.max(result.p99[index] ?? 0, p99)
    }
  }
  return result
}

/** Every instance key under a tree node (a wrapper, pool, tier, group, echelon, model or instance). */
export function instancesUnder(node: TreeNode, into = new Set<string>()): Set<string> {
  if (node.instance) into.add(node.instance)
  for (const child of node.children ?? []) instancesUnder(child, into)
  return into
}

/** The names an event filter offers, by kind, each with the instances it covers and the targets it stands for. */
export interface FilterTarget {
  name: string
  kind: TreeNode['kind']
  instances: Set<string>
  /** The pool or task group names events of this target carry (`FeedEvent.target`). */
  targets: Set<string>
}

export function filterTargets(tree: TreeNode[]): FilterTarget[] {
  const found = new Map<string, FilterTarget>()
  const visit = (node: TreeNode) => {
    if (
      node.kind === 'wrapper' ||
      node.kind === 'pool' ||
      node.kind === 'task_group' ||
      node.kind === 'echelon' ||
      node.kind === 'instance'
    ) {
      if (!found.has(node.name)) {
        const targets = new Set<string>(node.kind === 'pool' || node.kind === 'task_group' ? [node.name] : [])
        if (node.kind === 'wrapper') for (const child of node.children ?? []) targets.add(child.name)
        found.set(node.name, { name: node.name, kind: node.kind, instances: instancesUnder(node), targets })
      }
    }
    // A task group shown only inside a pool is still a target of its own (its requests' events name it).
    if (node.kind === 'echelon') {
      const group = node.name.slice(0, node.name.indexOf('.'))
      const entry = found.get(group) ?? {
        name: group,
        kind: 'task_group' as const,
        instances: new Set<string>(),
        targets: new Set([group]),
      }
      instancesUnder(node, entry.instances)
      found.set(group, entry)
    }
    for (const child of node.children ?? []) visit(child)
  }
  tree.forEach(visit)
  return [...found.values()]
}

/** Whether an event belongs to a filter target: its request's target, or its instance, is under it. */
export function matches(event: FeedEvent, target: FilterTarget | undefined): boolean {
  if (!target) return true
  if (event.target !== undefined && target.targets.has(event.target)) return true
  return event.instance !== undefined && target.instances.has(event.instance)
}

/** Requests and failures per second of every instance over the whole history, in one pass (for the sparklines). */
export function activity(model: Model): Map<string, { requests: Float64Array; errors: Float64Array }> {
  const seconds = model.historySeconds
  const start = Math.floor(model.at / 1000) - seconds
  const result = new Map<string, { requests: Float64Array; errors: Float64Array }>()
  for (const key of model.instances.keys())
    result.set(key, { requests: new Float64Array(seconds), errors: new Float64Array(seconds) })
  for (const point of model.points) {
    const index = point.t / 1000 - start
    if (index < 0 || index >= seconds) continue
    for (const [key, values] of Object.entries(point.values)) {
      const entry = result.get(key)
      if (!entry) continue
      entry.requests[index] = values[0]
      entry.errors[index] = values[1]
    }
  }
  return result
}
