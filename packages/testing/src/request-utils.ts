import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Fault } from './faults'
import { sendBody } from './send'

// Small pieces of request handling that need none of the upstream's state.

const MAX_BODY_BYTES = 16 * 1024 * 1024

/** Collects the body as text; fails past 16 MB. */
export function readBody(request: IncomingMessage, done: (error: Error | undefined, raw: string) => void): void {
  const chunks: Buffer[] = []
  let size = 0
  request.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      request.removeAllListeners('data')
      request.resume()
      done(new Error('body too large'), '')
      return
    }
    chunks.push(chunk)
  })
  request.on('end', () => {
    if (size > MAX_BODY_BYTES) return
    done(undefined, chunks.length === 1 ? (chunks[0] as Buffer).toString() : Buffer.concat(chunks).toString())
  })
}

/** The id in `/v1/models/{id}` or `/models/{id}`. */
export function modelIdOf(path: string): string | undefined {
  const prefix = path.startsWith('/v1/models/') ? 11 : path.startsWith('/models/') ? 8 : -1
  if (prefix === -1 || path.length === prefix) return undefined
  try {
    return decodeURIComponent(path.slice(prefix))
  } catch {
    return path.slice(prefix)
  }
}

/** 405 with an `allow` header. */
export function methodNotAllowed(response: ServerResponse, allow: string): void {
  sendBody(
    response,
    405,
    JSON.stringify({
      error: { message: `mock upstream: use ${allow}`, type: 'invalid_request_error', param: null, code: null },
    }),
    { allow },
  )
}

/** `requireApiKey`: a key in `Authorization: Bearer …` or `x-api-key`, and the right one when a key is given. */
export function authorized(headers: IncomingHttpHeaders, requireApiKey: boolean | string): boolean {
  if (requireApiKey === false) return true
  const keys = [bearerKey(headers), headerKey(headers)].filter((key) => key !== undefined)
  return keys.some((key) => requireApiKey === true || key === requireApiKey)
}

/**
 * The API key a request carries: Anthropic's `x-api-key` first for the Messages API, `Authorization: Bearer` first
 * for everything else, each falling back on the other (gateways send either). undefined when neither is there.
 */
export function apiKeyOf(headers: IncomingHttpHeaders, anthropic: boolean): string | undefined {
  return anthropic ? (headerKey(headers) ?? bearerKey(headers)) : (bearerKey(headers) ?? headerKey(headers))
}

function bearerKey(headers: IncomingHttpHeaders): string | undefined {
  const { authorization } = headers
  if (authorization === undefined || authorization.length <= 7 || !/^bearer /i.test(authorization)) return undefined
  return authorization.slice(7).trim() || undefined
}

function headerKey(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-api-key']
  return typeof value === 'string' ? value.trim() || undefined : undefined
}

/** `stream_options.include_usage`: OpenAI then sends a last chunk with the usage. */
export function includeUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined
  return options?.include_usage === true
}

/**
 * The response headers a fault adds: its `headers`, then `retry-after` and `retry-after-ms`. Names are lowercased, so
 * that `retryAfter` replaces a `Retry-After` of `headers` and a `Content-Type` replaces the default, never doubles it.
 */
export function faultHeaders(fault: Fault): Record<string, string> | undefined {
  if (fault.retryAfter === undefined && fault.retryAfterMs === undefined && fault.headers === undefined)
    return undefined
  const headers: Record<string, string> = {}
  for (const name in fault.headers) headers[name.toLowerCase()] = fault.headers[name] as string
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter)
  if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs)
  return headers
}
