import type { InstanceState, Tally, Traffic } from './tally'

export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`)

/** Traffic columns, then the instance-state columns (marked `*`: see the legend), then latency. */
const COLUMNS = ['requests', 'ok', 'retries', 'fallbacks', 'timeouts', 'hedges', 'trips*', 'cooldowns*', 'p50', 'p99']
const CELL = 11

const LEGEND = [
  'legend',
  '  requests    pool / task group: requests sent to it; instance rows: calls its requests made to that instance',
  '  ok          answered (instance rows: calls that answered; a call stopped because another answered first is not)',
  '  retries     calls repeated on the same instance, after a failure that retrying may cure',
  '  fallbacks   times a request left an instance for the next one (it failed, or it had no retry left)',
  '  timeouts    calls that got no answer within their attempt timeout',
  '  hedges      extra calls started because a call was slow (hedge_after); the first answer wins',
  "  trips*      times an instance's circuit breaker opened (its failures reached the threshold)",
  '  cooldowns*  times an instance was put to rest: its upstream said "not now" (429, 529) or refused its key',
  '  p50, p99    latency: of requests (pools, task groups), of calls (instance rows)',
  "  *           what happens to an instance itself, whoever's call caused it: one breaker and one rest per instance,",
  "              shared by every pool and task group that reaches it. An instance row shows its instance's count; a",
  '              pool / task group row adds up every instance its route reaches (its echelons; for a pool, its task',
  '              groups and fallback pools), so one trip can show in several rows.',
]

function cells(traffic: Traffic, state: { trips: number; cooldowns: number }): string {
  const values = [
    traffic.requests,
    traffic.ok,
    traffic.retries,
    traffic.fallbacks,
    traffic.timeouts,
    traffic.hedges,
    state.trips,
    state.cooldowns,
  ].map(String)
  return values
    .concat([ms(quantile(traffic.latencies, 0.5)), ms(quantile(traffic.latencies, 0.99))])
    .map((value) => value.padStart(CELL))
    .join('')
}

function header(title: string, width: number, print: (line: string) => void): void {
  print(`\n${title.padEnd(width)}${COLUMNS.map((column) => column.padStart(CELL)).join('')}`)
  print('-'.repeat(width + COLUMNS.length * CELL))
}

/**
 * The end-of-run tables: per pool and task group (its requests), then per instance under each pool and task group
 * whose requests called it (its calls), and the legend.
 */
export function printTables(tally: Tally, print: (line: string) => void): void {
  const targets = [...tally.targets.keys()].sort()
  const instances = [...tally.calls.values()].flatMap((calls) => [...calls.keys()])
  const width = Math.max(24, ...targets.map((name) => name.length), ...instances.map((name) => name.length + 2))

  header('pool / task group', width, print)
  for (const target of targets)
    print(`${target.padEnd(width)}${cells(tally.targets.get(target)!, tally.reachedState(target))}`)

  header('instance, by caller', width, print)
  for (const target of targets) {
    const calls = tally.calls.get(target)
    if (!calls) continue
    print(target)
    for (const instance of [...calls.keys()].sort()) {
      const state = tally.instances.get(instance)
      print(
        `  ${instance.padEnd(width - 2)}${cells(calls.get(instance)!, { trips: state?.trips ?? 0, cooldowns: state?.cooldowns ?? 0 })}`,
      )
    }
  }
  print('')
  for (const line of LEGEND) print(line)
}

/** Per instance with failed calls: how many failed, and the most frequent cause with its count. */
export function printCauses(tally: Tally, print: (line: string) => void): void {
  const failing = [...tally.instances]
    .filter(([, state]) => state.failures > 0)
    .sort(([a, x], [b, y]) => y.failures - x.failures || a.localeCompare(b))
  if (failing.length === 0) {
    print('\nno call failed')
    return
  }
  print('\nwhy calls failed (per instance: failed calls, then the most frequent cause)')
  const width = Math.max(...failing.map(([instance]) => instance.length))
  for (const [instance, state] of failing)
    print(`  ${instance.padEnd(width)}  ${`${state.failures} of ${state.calls}`.padStart(9)}   ${topCause(state)}`)
}

function topCause(state: InstanceState): string {
  const [cause, count] = [...state.causes].sort((a, b) => b[1] - a[1])[0]!
  const others = state.causes.size - 1
  return `${count} × ${cause}${others > 0 ? `  (+${others} other cause${others === 1 ? '' : 's'})` : ''}`
}
