/**
 * Tables of a configuration are keyed by what users write, and users may write `constructor`, `toString` or
 * `__proto__`. Read and write them as own properties only: `key in table` and `table[key]` would find
 * Object.prototype's members, and `table.__proto__ = value` would replace the prototype instead of adding a key.
 */

/** The own property `key` of `table`, or undefined. */
export function getOwn<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined
}

/** Sets `table[key]` as an own, enumerable property, even for `__proto__`. */
export function setOwn(table: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true })
  else table[key] = value
}
