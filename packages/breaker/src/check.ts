/** Option and snapshot checks: every bad value becomes a `RangeError` naming the option and the value. */

export function fail(name: string | undefined, option: string, value: unknown, expected: string): never {
  const subject = name === undefined ? '' : `circuit breaker "${name}": `
  throw new RangeError(`${subject}${option} must be ${expected}; got ${describe(value)}`)
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value)
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value)
  }
  if (typeof value === 'function') return 'a function'
  return Array.isArray(value) ? 'an array' : `an ${typeof value}`
}
