import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** Decides whether a request may see the dashboard's data. */
export type Authorize = (request: IncomingMessage) => boolean | Promise<boolean>

/** Digests make the comparison constant-time whatever the lengths. */
const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * `Authorization: Bearer <token>`, as the gateway checks it: the scheme case-insensitive (RFC 9110), the token
 * compared in constant time. Only the header: a token in a URL ends up in logs and browser history.
 */
export function bearerToken(token: string): Authorize {
  const expected = digest(token)
  return (request) => {
    const header = request.headers.authorization
    if (typeof header !== 'string') return false
    const match = /^bearer +(\S+) *$/i.exec(header)
    return match !== null && timingSafeEqual(digest(match[1]!), expected)
  }
}
