/** A key path inside a TOML document: keys and array indexes. */
export type KeyPath = readonly (string | number)[]

const BARE_KEY = /^[A-Za-z0-9_-]+$/

/** `["pool", "health_check", "interval"]` → `pool.health_check.interval`; quoted where TOML would quote. */
export function formatPath(path: KeyPath): string {
  let result = ''
  for (const segment of path) {
    if (typeof segment === 'number') result += `[${segment}]`
    else {
      const key = BARE_KEY.test(segment) ? segment : JSON.stringify(segment)
      result += result === '' ? key : `.${key}`
    }
  }
  return result
}

/** A key path as one string, for a map key. */
export function pathKey(path: KeyPath): string {
  return path.join('\u0000')
}
