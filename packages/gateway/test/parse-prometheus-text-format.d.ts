/** Types of parse-prometheus-text-format 1.1.1 (it ships none): one entry per metric family, values as written. */
declare module 'parse-prometheus-text-format' {
  export interface ParsedFamily {
    name: string
    /** '' when the family has no HELP line. */
    help: string
    /** 'UNTYPED' when the family has no TYPE line. */
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: {
      value?: string
      labels?: Record<string, string>
      buckets?: Record<string, string>
      count?: string
      sum?: string
    }[]
  }
  /** Throws `InvalidLineError` on a line it cannot read. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[]
}
