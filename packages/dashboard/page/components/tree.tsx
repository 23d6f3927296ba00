import type { JSX } from 'preact'
import type { Fill, InstanceView, TreeNode } from '../../src/types'
import { count, duration, latencyPair, percent, rate } from '../format'
import { instancesUnder } from '../model'
import { Sparkline } from './sparkline'
import { StatusBadge, statusTime } from './status'

type Activity = Map<string, { requests: Float64Array; errors: Float64Array }>

interface TreeProps {
  tree: TreeNode[]
  instances: Map<string, InstanceView>
  activity: Activity
  selected: string | undefined
  onSelect(key: string): void
}

const KIND_WORD: Record<TreeNode['kind'], string> = {
  wrapper: 'wrapper',
  pool: 'pool',
  tier: '',
  task_group: 'task group',
  echelon: 'echelon',
  model: 'model',
  instance: 'instance',
  fallback_pool: '',
}

/** Up and down arrows move between the tree's rows (summaries and instances), Home and End to the first and last. */
function onTreeKey(event: JSX.TargetedKeyboardEvent<HTMLDivElement>) {
  if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) return
  const rows = [...event.currentTarget.querySelectorAll<HTMLElement>('[data-nav]')].filter(
    (row) => row.offsetParent !== null,
  )
  const index = rows.indexOf(document.activeElement as HTMLElement)
  const next =
    event.key === 'Home'
      ? 0
      : event.key === 'End'
        ? rows.length - 1
        : event.key === 'ArrowDown'
          ? Math.min(rows.length - 1, index + 1)
          : Math.max(0, index - 1)
  rows[next]?.focus()
  event.preventDefault()
}

export function TargetTree(props: TreeProps) {
  return (
    <div class="tree" onKeyDown={onTreeKey}>
      <div class="row row-head" aria-hidden="true">
        <span class="cell-name">target / instance</span>
        <span class="cell-status">state</span>
        <span class="cell-num" title="calls in flight">
          busy
        </span>
        <span class="cell-fill" title="requests left this minute, of the rpm limit">
          rpm
        </span>
        <span class="cell-fill" title="free concurrent calls, of the concurrency limit">
          conc.
        </span>
        <span class="cell-num">req/s</span>
        <span class="cell-num">err</span>
        <span class="cell-lat">p50 / p99</span>
        <span class="cell-tok">tok in/out</span>
        <span class="cell-spark">15 min</span>
      </div>
      {props.tree.map((node) => (
        <Node key={node.name} node={node} depth={0} {...props} />
      ))}
    </div>
  )
}

function Node(props: TreeProps & { node: TreeNode; depth: number }) {
  const { node, depth } = props
  if (node.kind === 'instance') return <InstanceRow {...props} />
  if (node.kind === 'fallback_pool') {
    return (
      <div class="row row-note" style={{ '--depth': depth }}>
        <span class="cell-name">↪ {node.label}</span>
      </div>
    )
  }
  const keys = instancesUnder(node)
  let perSecond = 0
  const troubled: Record<string, number> = {}
  for (const key of keys) {
    const instance = props.instances.get(key)
    if (!instance) continue
    perSecond += instance.window.requestsPerSecond
    if (instance.status !== 'ok') troubled[instance.status] = (troubled[instance.status] ?? 0) + 1
  }
  const trouble = Object.entries(troubled).map(([status, number]) => `${number} ${status.replace('_', '-')}`)
  return (
    <details open class={`node node-${node.kind}`}>
      <summary data-nav class="row row-node" style={{ '--depth': depth }}>
        <span class="cell-name">
          {KIND_WORD[node.kind] ? <span class="kind">{KIND_WORD[node.kind]}</span> : null}
          <span class="node-name">{node.label}</span>
          {node.detail ? <span class="detail">{node.detail}</span> : null}
        </span>
        <span class="node-summary">
          {keys.size} instance{keys.size === 1 ? '' : 's'}
          {trouble.length > 0 ? <strong class="trouble"> · {trouble.join(', ')}</strong> : null} · {rate(perSecond)}{' '}
          req/s
        </span>
      </summary>
      {(node.children ?? []).map((child) => (
        <Node key={child.name} {...props} node={child} depth={depth + 1} />
      ))}
    </details>
  )
}

function FillCell({ fill, unit, label }: { fill: Fill | undefined; unit: string; label: string }) {
  if (!fill)
    return (
      <span class="cell-fill muted" data-label={label}>
        –
      </span>
    )
  const used = fill.limit > 0 ? 1 - fill.available / fill.limit : 0
  return (
    <span class="cell-fill" data-label={label} title={`${fill.available} of ${fill.limit} ${unit} free`}>
      <span class="fill-text">
        {count(fill.available)}/{count(fill.limit)}
      </span>
      <span class={`fill-bar${used >= 0.9 ? ' fill-high' : ''}`} aria-hidden="true">
        <span class="fill-used" style={{ width: `${Math.round(used * 100)}%` }} />
      </span>
    </span>
  )
}

function InstanceRow(props: TreeProps & { node: TreeNode; depth: number }) {
  const key = props.node.instance!
  const instance = props.instances.get(key)
  const activity = props.activity.get(key)
  const selected = props.selected === key
  const window = instance?.window
  return (
    <button
      type="button"
      data-nav
      data-instance={key}
      class={`row row-instance${selected ? ' selected' : ''}`}
      style={{ '--depth': props.depth }}
      aria-pressed={selected}
      aria-label={instance ? describeInstance(instance) : key}
      title={key}
      onClick={() => props.onSelect(key)}
    >
      <span class="cell-name">
        {props.node.label}
        {props.node.detail ? <span class="provider"> {props.node.detail}</span> : null}
      </span>
      <span class="cell-status">
        <StatusBadge instance={instance} />
      </span>
      <span class="cell-num" data-label="in flight">
        {instance?.inFlight ?? '–'}
      </span>
      <FillCell fill={instance?.limits.rpm} unit="requests this minute" label="rpm free" />
      <FillCell fill={instance?.limits.concurrency} unit="concurrent calls" label="conc. free" />
      <span class="cell-num" data-label="req/s">
        {window ? rate(window.requestsPerSecond) : '–'}
      </span>
      <span class={`cell-num${window && window.errorRate > 0 ? ' bad' : ''}`} data-label="errors">
        {window ? percent(window.errorRate) : '–'}
      </span>
      <span class="cell-lat" data-label="p50 / p99">
        {window ? latencyPair(window.p50Ms, window.p99Ms) : '–'}
      </span>
      <span class="cell-tok" data-label="tokens">
        {window ? `${count(window.inputTokens)} / ${count(window.outputTokens)}` : '–'}
      </span>
      <span class="cell-spark">{activity ? <Sparkline columns={activity} /> : null}</span>
    </button>
  )
}

/** What a screen reader says for a row: the same facts as the cells, in a sentence. */
function describeInstance(instance: InstanceView): string {
  const { window, limits } = instance
  const time = statusTime(instance)
  return [
    `${instance.key}: ${instance.status.replace('_', '-')}${time ? `, ${time}` : ''}`,
    `${instance.inFlight} in flight`,
    limits.rpm ? `${limits.rpm.available} of ${limits.rpm.limit} rpm free` : undefined,
    limits.concurrency ? `${limits.concurrency.available} of ${limits.concurrency.limit} concurrent free` : undefined,
    `${rate(window.requestsPerSecond)} requests per second, ${percent(window.errorRate)} failed`,
    `p50 ${duration(window.p50Ms)}, p99 ${duration(window.p99Ms)}`,
    `tokens ${count(window.inputTokens)} in, ${count(window.outputTokens)} out`,
  ]
    .filter(Boolean)
    .join('; ')
}
