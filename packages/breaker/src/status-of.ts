/**
 * The HTTP status an error carries on itself, wherever SDKs put it: `statusCode` (AI SDK `APICallError`), `status`
 * (OpenAI and Anthropic SDKs, a fetch `Response`), `response.status`, `$metadata.httpStatusCode` (AWS SDK). A
 * three-digit string counts; anything outside 100–599 does not (a `status: 'failed'` or an ioredis `status` is no
 * HTTP status).
 */
export function ownStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const record = error as Record<string, unknown>
  const candidates: unknown[] = [record.statusCode, record.status]
  const response = record.response
  if (typeof response === 'object' && response !== null) candidates.push((response as Record<string, unknown>).status)
  const metadata = record.$metadata
  if (typeof metadata === 'object' && metadata !== null)
    candidates.push((metadata as Record<string, unknown>).httpStatusCode)
  for (const candidate of candidates) {
    const status = typeof candidate === 'string' && /^\d{3}$/.test(candidate) ? Number(candidate) : candidate
    if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) return status
  }
  return undefined
}

/** How far `statusOf` follows `cause` / `lastError` links (a cycle or a deep chain stops there). */
const MAX_DEPTH = 5

/**
 * The upstream's HTTP status in an error, or undefined: the first status found on the error or down its `cause`
 * chain (and an AI SDK `RetryError`'s `lastError`), in the places `ownStatusOf` reads. The router's records,
 * cooldowns and `classifyFailure` all read statuses this way, so they agree on what an error's status is.
 */
export function statusOf(error: unknown): number | undefined {
  let node = error
  for (let depth = 0; depth < MAX_DEPTH && typeof node === 'object' && node !== null; depth++) {
    const status = ownStatusOf(node)
    if (status !== undefined) return status
    const record = node as { cause?: unknown; lastError?: unknown }
    const next = record.cause ?? record.lastError
    if (next === node) break
    node = next
  }
  return undefined
}
