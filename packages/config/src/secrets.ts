import type { KeyPath } from './key-path'
import { setOwn } from './own'

/** What a secret value is replaced by wherever configuration is shown. */
export const REDACTED = '[redacted]'

const SECRET_WORDS = new Set([
  'key',
  'keys',
  'apikey',
  'token',
  'secret',
  'secrets',
  'password',
  'passwd',
  'passphrase',
  'credential',
  'credentials',
])

/**
 * True for a key that names a key, token or secret: `api_key`, `apiKey`, `access_token`, `client_secret`,
 * `password`. `max_tokens` is not one: plural `tokens` counts LLM tokens.
 */
export function isSecretKey(key: string): boolean {
  let secret = decided.get(key)
  if (secret === undefined) {
    secret = decide(key)
    if (decided.size < 10_000) decided.set(key, secret)
  }
  return secret
}

const decided = new Map<string, boolean>()

/** True when the value at `path` is a secret: the nearest key is one (`api_keys[1]` is one of `api_keys`). */
export function isSecretPath(path: KeyPath): boolean {
  for (let index = path.length - 1; index >= 0; index--) {
    const segment = path[index]
    if (typeof segment === 'string') return isSecretKey(segment)
  }
  return false
}

function decide(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\-.\s]+/)
    .filter(Boolean)
  const last = words[words.length - 1]
  if (last === undefined) return false
  if (SECRET_WORDS.has(last)) return true
  return words.includes('secret') || words.includes('password')
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? '' : REDACTED
  if (Array.isArray(value)) return value.map(redactValue)
  if (value !== null && typeof value === 'object') return REDACTED
  return value
}

/**
 * A URL's credentials: the password of `https://user:password@host/` and the values of query parameters named like
 * secrets (`?api_key=...`, `&token=...`). Other text is returned as it is.
 */
export function redactUrl(text: string): string {
  if (!text.includes('://')) return text
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return text
  }
  let changed = false
  if (url.password) {
    url.password = 'redacted'
    changed = true
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretKey(name)) {
      url.searchParams.set(name, 'redacted')
      changed = true
    }
  }
  return changed ? url.toString().replaceAll('redacted', REDACTED) : text
}

/**
 * A deep copy of `value` with every secret replaced by `[redacted]`: values of secret-named keys (empty strings stay
 * empty: they mean "the provider's default") and credentials inside URLs.
 */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T
  if (Array.isArray(value)) return value.map((item) => redact(item)) as T
  if (value === null || typeof value !== 'object') return value
  const result: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    setOwn(result, key, isSecretKey(key) ? redactValue(item) : redact(item))
  }
  return result as T
}
