import { type KeyPath, pathKey } from './key-path'
import { setOwn } from './own'
import type { ConfigProblemCode } from './problems'
import { isSecretPath } from './secrets'
import { isPlainTable } from './validate'

/** `${VAR}`, `${VAR:default}`; `$${` is a literal `${`. */
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** A string that is one reference and nothing else: it may take the type of a number or boolean field. */
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}$/

export interface EnvInjection {
  value: unknown
  /** Variables the document read, and the value each had (for the reload cache key). */
  used: Map<string, string | undefined>
  /** Key paths (by `pathKey`) whose whole string was one `${VAR}` or `${VAR:default}`, and the variable. */
  wholeReferences: Map<string, string>
  problems: { code: ConfigProblemCode; path: KeyPath; message: string }[]
}

function injectString(text: string, path: KeyPath, env: NodeJS.ProcessEnv, injection: EnvInjection): string {
  if (!text.includes('${')) return text
  const whole = WHOLE_REFERENCE.exec(text)
  if (whole) injection.wholeReferences.set(pathKey(path), whole[1]!)
  return text.replace(REFERENCE, (match, body: string | undefined) => {
    if (body === undefined) return '${'
    const separator = body.indexOf(':')
    const name = separator === -1 ? body : body.slice(0, separator)
    const fallback = separator === -1 ? undefined : body.slice(separator + 1)
    if (!VARIABLE_NAME.test(name)) {
      // The text between the braces may be a secret pasted in the wrong place: do not echo it for a secret key.
      const what = isSecretPath(path) ? 'this value' : `"${match}"`
      injection.problems.push({
        code: 'invalid_value',
        path,
        message: `${what} is not a valid variable reference: write \${NAME} or \${NAME:default}`,
      })
      return ''
    }
    if (fallback?.includes('${')) {
      // `${A:${B}}` would otherwise leave a literal `${B}` behind: references do not nest.
      injection.problems.push({
        code: 'invalid_value',
        path,
        message: `the default of \${${name}:…} holds "\${": references do not nest (write $\${ for a literal "\${")`,
      })
      return ''
    }
    const value = env[name]
    injection.used.set(name, value)
    // Like the shell's ${NAME:-default}: an empty variable takes the default too.
    if (value !== undefined && (value !== '' || fallback === undefined)) return value
    if (fallback !== undefined) return fallback
    injection.problems.push({
      code: 'env_missing',
      path,
      message: `environment variable ${name} is not set and \${${name}} gives no default (write \${${name}:default})`,
    })
    return ''
  })
}

/** The key path down to a table: a linked list, made once per table walked, turned into an array only when used. */
interface Trail {
  parent: Trail | undefined
  key: string | number
}

function pathOf(trail: Trail | undefined, key: string | number): (string | number)[] {
  const path = [key]
  for (let node = trail; node; node = node.parent) path.push(node.key)
  return path.reverse()
}

/** One item: strings with `${` are injected, tables and arrays walked; returns the item itself when unchanged. */
function item(
  value: unknown,
  trail: Trail | undefined,
  key: string | number,
  env: NodeJS.ProcessEnv,
  injection: EnvInjection,
): unknown {
  if (typeof value === 'string')
    return value.includes('${') ? injectString(value, pathOf(trail, key), env, injection) : value
  if (typeof value !== 'object' || value === null) return value
  return walk(value, { parent: trail, key }, env, injection)
}

/** Copy on write: a table or array without any `${` in it is returned as it is, not copied. */
function walk(value: unknown, trail: Trail | undefined, env: NodeJS.ProcessEnv, injection: EnvInjection): unknown {
  if (Array.isArray(value)) {
    let result: unknown[] | undefined
    for (let index = 0; index < value.length; index++) {
      const next = item(value[index], trail, index, env, injection)
      if (next !== value[index]) (result ??= [...value])[index] = next
    }
    return result ?? value
  }
  if (isPlainTable(value)) {
    let result: Record<string, unknown> | undefined
    for (const key in value) {
      const next = item(value[key], trail, key, env, injection)
      if (next !== value[key]) setOwn((result ??= { ...value }), key, next)
    }
    return result ?? value
  }
  return value
}

/**
 * Replaces `${VAR}` and `${VAR:default}` in every string of a parsed document. The injected text is not scanned
 * again (no recursive expansion); a variable that is missing without a default is a problem, never a literal `${VAR}`.
 */
export function injectEnv(document: unknown, env: NodeJS.ProcessEnv): EnvInjection {
  const injection: EnvInjection = { value: undefined, used: new Map(), wholeReferences: new Map(), problems: [] }
  injection.value = walk(document, undefined, env, injection)
  return injection
}
