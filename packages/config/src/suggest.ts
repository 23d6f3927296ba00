function distance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!
    previous[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return previous[b.length]!
}

/** The candidate closest to `input` (`helth_check` → `health_check`), if any is close enough to be a likely typo. */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(input.length / 3))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= limit ? best : undefined
}

/**
 * The candidates that `input` is likely a typo or a part of, closest first: within a third of its length in edit
 * distance, or containing it (`fast` → `fast_pool`, `fast_group`).
 */
export function suggestions(input: string, candidates: Iterable<string>, limit = 5): string[] {
  const needle = input.toLowerCase()
  const threshold = Math.max(2, Math.floor(needle.length / 3))
  return [...new Set(candidates)]
    .map((candidate) => {
      const lower = candidate.toLowerCase()
      const score = lower.includes(needle) && needle.length > 0 ? 0.5 : distance(needle, lower)
      return { candidate, score }
    })
    .filter(({ score }) => score <= threshold)
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, limit)
    .map(({ candidate }) => candidate)
}

/** ` (did you mean "x"?)` or nothing. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closestMatch(input, candidates)
  return match === undefined ? '' : ` (did you mean "${match}"?)`
}
