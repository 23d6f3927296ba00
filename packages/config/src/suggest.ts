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

/**
 * ` (did you mean "x"?)`, or with `limit` above 1 ` (did you mean "x", "y"?)`, or nothing: the one way every llmpool
 * message (configuration problems, the router's unknown targets, the CLI's unknown commands and options) suggests a
 * name, ready to append. One suggestion is the closest likely typo (`closestMatch`: an unknown key gets one fix);
 * several are `suggestions()`, which also offers names containing the input (a name the user half remembers).
 */
export function didYouMean(input: string, candidates: Iterable<string>, limit = 1): string {
  const found =
    limit === 1
      ? [closestMatch(input, candidates)].filter((match) => match !== undefined)
      : suggestions(input, candidates, limit)
  return found.length === 0 ? '' : ` (did you mean ${found.map((name) => `"${name}"`).join(', ')}?)`
}
