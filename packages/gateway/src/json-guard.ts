import { HttpError } from './http-error'
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, isSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars'

/** How deep a request body may nest objects and arrays. Real chat requests (tool schemas included) stay far below. */
export const MAX_JSON_DEPTH = 64

const refuse = (code: string, message: string, param: string | null = null) =>
  new HttpError(400, 'invalid_request_error', code, message, {}, param)

/**
 * Checks a request body's text before it is parsed, in one pass that allocates next to nothing:
 *
 * - no deeper nesting than `maxDepth` — a deeply nested body would cost `JSON.parse` (and every later walk of the
 *   value) far more than its size suggests;
 * - no top-level key twice — `JSON.parse` keeps the last `"model"`, a text splice would see the first: a request
 *   must mean one thing to everyone who reads it.
 *
 * Malformed JSON is left to `JSON.parse`, which says so.
 */
export function checkJsonText(text: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0
  let seen: Set<string> | undefined
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (code === QUOTE) {
      const start = at
      let escaped = false
      for (at++; at < text.length; at++) {
        const inner = text.charCodeAt(at)
        if (inner === BACKSLASH) {
          escaped = true
          at++
        } else if (inner === QUOTE) break
      }
      if (depth !== 1) continue
      // A top-level key: a string followed by a colon.
      let next = at + 1
      while (next < text.length && isSpace(text.charCodeAt(next))) next++
      if (text.charCodeAt(next) !== COLON) continue
      let key = text.slice(start + 1, at)
      if (escaped) {
        try {
          key = JSON.parse(text.slice(start, at + 1)) as string
        } catch {
          return // malformed: JSON.parse reports it
        }
      }
      seen ??= new Set()
      if (seen.has(key)) {
        // The key sent twice is the field at fault (cut like in the message: it is the client's text).
        throw refuse(
          'duplicate_key',
          `the request body has the key ${JSON.stringify(key.slice(0, 40))} twice; send each key once`,
          key.slice(0, 40),
        )
      }
      seen.add(key)
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth)
        throw refuse('too_deep', `the request body nests objects and arrays deeper than ${maxDepth} levels`)
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--
  }
}
