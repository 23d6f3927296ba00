import { inspect } from 'node:util'
import { isSecretKey, redact, redactUrl } from './secrets'
import type { ResolvedConfig } from './types'

const hooks = {
  toJSON: {
    value(this: object) {
      return redact(this)
    },
  },
  [inspect.custom]: {
    value(this: object, _depth: number, options: object, inspectFunction: typeof inspect = inspect) {
      return inspectFunction(redact(this), options)
    },
  },
} satisfies PropertyDescriptorMap

/**
 * Deeply freezes a configuration tree. Each table that holds a secret (a secret-named key, or a URL with
 * credentials) gets non-enumerable `toJSON` and
 * `util.inspect` hooks that show it redacted, so printing any part of the tree (or all of it) never shows a secret.
 * Only those tables get hooks: adding properties to every table would slow every later property read.
 * Already frozen subtrees (reused from the previous load) are skipped.
 */
function freezeTree(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  if (Array.isArray(value)) {
    for (const item of value) freezeTree(item)
  } else {
    let holdsSecret = false
    for (const key in value) {
      const item = (value as Record<string, unknown>)[key]
      freezeTree(item)
      if (!holdsSecret && (isSecretKey(key) || (typeof item === 'string' && redactUrl(item) !== item)))
        holdsSecret = true
    }
    if (holdsSecret) Object.defineProperties(value, hooks)
  }
  Object.freeze(value)
}

export function freezeConfig(config: ResolvedConfig): ResolvedConfig {
  freezeTree(config)
  return config
}
