import { LATENCY_BUCKETS_MS, type SeriesFigures } from '@llmpool/router'

/** Label pairs of one sample, in the order they are written. Names must not be `instance` or `job` (see docs/decisions/0016). */
export type Labels = Record<string, string>

type FamilyType = 'counter' | 'gauge' | 'histogram'

/** A label value as the text format 0.0.4 wants it: backslash, double quote and newline escaped. */
const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const format = (labels: Labels) => {
  let text = ''
  for (const name in labels) text += `${text === '' ? '' : ','}${name}="${escape(labels[name]!)}"`
  return text === '' ? '' : `{${text}}`
}
/** The `le` labels of the router's buckets, in seconds, then `+Inf`. */
const BOUNDS = [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf']
const BUCKET_KEYS = [...LATENCY_BUCKETS_MS.map(String), '+Inf']

/**
 * The Prometheus text exposition format 0.0.4, written by hand: families in the order first met, each with one
 * HELP and TYPE line and all its samples together (the format wants a family's samples in one group).
 */
export class Exposition {
  private readonly families = new Map<string, { help: string; type: FamilyType; lines: string[] }>()

  private line(family: string, type: FamilyType, help: string, line: string): void {
    let entry = this.families.get(family)
    if (!entry) this.families.set(family, (entry = { help, type, lines: [] }))
    entry.lines.push(line)
  }

  /** One counter or gauge sample. A value that is not a finite number is written as 0. */
  value(name: string, type: 'counter' | 'gauge', help: string, labels: Labels, value: number): void {
    this.line(name, type, help, `${name}${format(labels)} ${Number.isFinite(value) ? value : 0}`)
  }

  /** One histogram of the router (milliseconds) in seconds: cumulative `_bucket`s up to `+Inf`, `_sum`, `_count`. */
  histogram(name: string, help: string, labels: Labels, histogram: SeriesFigures['latency']): void {
    let cumulative = 0
    for (let i = 0; i < BOUNDS.length; i++) {
      cumulative += histogram.buckets[BUCKET_KEYS[i]!] ?? 0
      this.line(name, 'histogram', help, `${name}_bucket${format({ ...labels, le: BOUNDS[i]! })} ${cumulative}`)
    }
    this.line(name, 'histogram', help, `${name}_sum${format(labels)} ${histogram.sumMs / 1000}`)
    this.line(name, 'histogram', help, `${name}_count${format(labels)} ${histogram.count}`)
  }

  toString(): string {
    let text = ''
    for (const [name, family] of this.families)
      text += `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n${family.lines.join('\n')}\n`
    return text
  }
}
