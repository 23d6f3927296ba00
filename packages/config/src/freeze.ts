import { inspect } from 'node:util'
import { redact } from './secrets'
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
 * Deeply freezes a configuration tree, and gives every table non-enumerable `toJSON` and `util.inspect` hooks that
 * show it with secrets redacted, whichever part of the tree is printed.
 */
function freezeTree(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  if (Array.isArray(value)) {
    for (const item of value) freezeTree(item)
  } else {
    for (const item of Object.values(value)) freezeTree(item)
    Object.defineProperties(value, hooks)
  }
  Object.freeze(value)
}

export function freezeConfig(config: ResolvedConfig): ResolvedConfig {
  freezeTree(config)
  return config
}
