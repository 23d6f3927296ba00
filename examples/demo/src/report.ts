import type { RouterEvent } from '@llmpool/router'

interface Row {
  requests: number
  ok: number
  retries: number
  fallbacks: number
  trips: number
  /** Attempts that ran out of their echelon's timeout. */
  timeouts: number
  /** Times the instance started to rest (a 429 or 529: its upstream said "not now"). */
  cooldowns: number
  latencies: number[]
}

const emptyRow = (): Row => ({ requests: 0, ok: 0, retries: 0, fallbacks: 0, trips: 0, timeouts: 0, cooldowns: 0, latencies: [] })

/** Counts per target (pool or task group) and per instance, from router events. */
export class Tally {
  readonly targets = new Map<string, Row>()
  readonly instances = new Map<string, Row>()
  private readonly targetOf = new Map<number, string>()

  private row(map: Map<string, Row>, key: string): Row {
    let row = map.get(key)
    if (!row) map.set(key, (row = emptyRow()))
    return row
  }

  record(event: RouterEvent): void {
    switch (event.type) {
      case 'request_start':
        this.targetOf.set(event.requestId, event.target)
        this.row(this.targets, event.target).requests++
        break
      case 'request_end': {
        const row = this.row(this.targets, event.target)
        if (event.ok) row.ok++
        row.latencies.push(event.durationMs)
        this.targetOf.delete(event.requestId)
        break
      }
      case 'attempt_end': {
        const row = this.row(this.instances, event.instance)
        row.requests++
        if (event.ok) row.ok++
        if (event.error?.kind === 'timeout') row.timeouts++
        row.latencies.push(event.durationMs)
        break
      }
      case 'cooldown':
        if (!event.remote) this.row(this.instances, event.instance).cooldowns++
        break
      case 'retry':
        this.row(this.instances, event.instance).retries++
        this.row(this.targets, this.targetOf.get(event.requestId) ?? '?').retries++
        break
      case 'fallback':
        this.row(this.instances, event.from).fallbacks++
        this.row(this.targets, event.target).fallbacks++
        break
      case 'breaker_change':
        if (event.to === 'open') this.row(this.instances, event.instance).trips++
        break
      default:
        break
    }
  }
}

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`)

function table(title: string, rows: Map<string, Row>, print: (line: string) => void): void {
  const header = ['requests', 'ok', 'retries', 'fallbacks', 'trips', 'timeouts', 'cooldowns', 'p50', 'p99']
  const names = [...rows.keys()].sort()
  const width = Math.max(title.length, ...names.map((name) => name.length))
  const cells = (values: string[]) => values.map((value) => value.padStart(10)).join('')
  print(`\n${title.padEnd(width)}${cells(header)}`)
  print('-'.repeat(width + header.length * 10))
  for (const name of names) {
    const row = rows.get(name)!
    print(
      `${name.padEnd(width)}${cells([row.requests, row.ok, row.retries, row.fallbacks, row.trips, row.timeouts, row.cooldowns].map(String).concat([ms(quantile(row.latencies, 0.5)), ms(quantile(row.latencies, 0.99))]))}`,
    )
  }
}

/** The end-of-run tables: per pool and task group (requests as sent), per instance (upstream attempts). */
export function printTables(tally: Tally, print: (line: string) => void): void {
  table('pool / task group', tally.targets, print)
  table('instance (attempts)', tally.instances, print)
}
