import { fail, isFiniteNumber, isInteger } from './check'
import type { BreakerSnapshot, CircuitState } from './types'

const STATES: readonly CircuitState[] = ['closed', 'open', 'half_open']

/** Checks a snapshot given to `restore()` or `initialState`; returns a copy, or throws a `RangeError`. */
export function checkSnapshot(snapshot: BreakerSnapshot, label: string, name: string | undefined): BreakerSnapshot {
  if (typeof snapshot !== 'object' || snapshot === null) fail(name, label, snapshot, 'a snapshot from toJSON()')
  const { state, failures, openedAt, recoveryTimeMs, reopenCount } = snapshot
  if (!STATES.includes(state)) fail(name, `${label}.state`, state, `one of ${STATES.join(', ')}`)
  if (!isInteger(failures) || failures < 0) fail(name, `${label}.failures`, failures, 'an integer ≥ 0')
  if (state === 'closed') {
    if (openedAt !== null && !isFiniteNumber(openedAt))
      fail(name, `${label}.openedAt`, openedAt, 'null or a finite number')
  } else if (!isFiniteNumber(openedAt)) {
    fail(name, `${label}.openedAt`, openedAt, `a finite number when state is ${state}`)
  }
  if (!isFiniteNumber(recoveryTimeMs) || recoveryTimeMs <= 0) {
    fail(name, `${label}.recoveryTimeMs`, recoveryTimeMs, 'a finite number > 0')
  }
  if (!isInteger(reopenCount) || reopenCount < 0) fail(name, `${label}.reopenCount`, reopenCount, 'an integer ≥ 0')
  return { state, failures, openedAt: state === 'closed' ? null : openedAt, recoveryTimeMs, reopenCount }
}
