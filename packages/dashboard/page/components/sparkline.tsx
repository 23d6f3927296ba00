/** Requests and failed requests per second, one value per second. */
interface Activity {
  requests: ArrayLike<number>
  errors: ArrayLike<number>
}

const WIDTH = 78
const HEIGHT = 22
/** Seconds per drawn step: 15 minutes in 60 steps. */
const STEP = 15

/**
 * Requests per second of the last 15 minutes as a line, failed ones as a filled area under it. A picture for the
 * eye only: the numbers next to it say the same in text.
 */
export function Sparkline({ columns }: { columns: Activity }) {
  const steps = Math.floor(columns.requests.length / STEP)
  const requests: number[] = []
  const errors: number[] = []
  for (let step = 0; step < steps; step++) {
    let sum = 0
    let failed = 0
    for (let i = step * STEP; i < (step + 1) * STEP; i++) {
      sum += columns.requests[i]!
      failed += columns.errors[i]!
    }
    requests.push(sum / STEP)
    errors.push(Math.min(sum, failed) / STEP)
  }
  const top = Math.max(...requests, 0.001)
  const x = (index: number) => ((index / Math.max(1, steps - 1)) * WIDTH).toFixed(1)
  const y = (value: number) => (HEIGHT - 1 - (value / top) * (HEIGHT - 2)).toFixed(1)
  const line = requests.map((value, index) => `${x(index)},${y(value)}`).join(' ')
  const area = errors.some((value) => value > 0)
    ? `0,${HEIGHT - 1} ${errors.map((value, index) => `${x(index)},${y(value)}`).join(' ')} ${WIDTH},${HEIGHT - 1}`
    : undefined
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      preserveAspectRatio="none"
      aria-hidden="true"
      focusable="false"
    >
      {area ? <polygon class="spark-errors" points={area} /> : null}
      <polyline class="spark-requests" points={line} />
    </svg>
  )
}
