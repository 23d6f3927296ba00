// How numbers and times read on the page: short, with their unit, the same everywhere.

/** `850 ms`, `1.2 s`, `14 s`, `2 min 5 s`. */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`
}

/** Requests per second: `0`, `0.4`, `12`. */
export function rate(perSecond: number): string {
  if (perSecond === 0) return '0'
  if (perSecond < 0.1) return perSecond.toFixed(2)
  if (perSecond < 10) return perSecond.toFixed(1)
  return String(Math.round(perSecond))
}

/** `0 %`, `2.5 %`, `40 %`. */
export function percent(fraction: number): string {
  if (fraction === 0) return '0 %'
  const value = fraction * 100
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} %`
}

/** `950`, `12.4k`, `3.1M`. */
export function count(value: number): string {
  if (value < 1000) return String(Math.round(value))
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 10_000 ? 1 : 0)}k`
  return `${(value / 1_000_000).toFixed(1)}M`
}

/** Local wall-clock time `14:03:27`. */
export function clockTime(at: number): string {
  const date = new Date(at)
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':')
}

/** A content hash, shortened for reading (`3f9a1c20b7e4`). */
export const shortHash = (hash: string | undefined) => (hash ? hash.replace(/^sha256:/, '').slice(0, 12) : '–')

/** Two latencies with one unit: `18 / 49 ms`, `0.8 / 2.5 s`, `– / –`. */
export function latencyPair(p50: number | undefined | null, p99: number | undefined | null): string {
  if (p50 === undefined || p50 === null || p99 === undefined || p99 === null) return '– / –'
  if (p99 < 1000) return `${Math.round(p50)} / ${Math.round(p99)} ms`
  return `${(p50 / 1000).toFixed(1)} / ${(p99 / 1000).toFixed(1)} s`
}
