import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { onAbort } from '@llmpool/router'
import { type Dispatcher, Pool } from 'undici'

/** An upstream's answer: status, body text, and (for error statuses only) the headers. */
export interface UpstreamAnswer {
  status: number
  text: string
  /** Lower-case names; only for status ≥ 400, where `retry-after` and the like matter. */
  headers?: Record<string, string>
}

/** The largest answer body read (bytes); a larger one fails the attempt rather than fill the memory. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024

/**
 * Keep-alive connection pools, one per upstream origin, shared by every pass-through model of a gateway. Requests go
 * through undici's `dispatch` with a handler that collects the body's buffers: the `request()` API wraps every
 * answer in a Readable stream, which cost the gateway about a quarter of its CPU per request.
 *
 * undici's own header and body timeouts are off: the router's attempt timeout and deadline govern, and they abort
 * the request through `onAbort`.
 */
export class Upstreams {
  private readonly pools = new Map<string, Pool>()

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** POSTs `body` to `url`; rejects on network errors and on the call's abort (with the abort reason). */
  post(url: URL, headers: Record<string, string>, body: string, call: LanguageModelV3CallOptions): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      let abortRequest: ((reason: Error) => void) | undefined
      let abortedWith: unknown
      let done = false
      let status = 0
      let rawHeaders: Buffer[] | undefined
      const chunks: Buffer[] = []
      let size = 0
      const stopListening = onAbort(call, (reason) => {
        abortedWith = reason ?? new Error('aborted')
        abortRequest?.(abortedWith as Error)
      })
      const finish = (error: unknown, answer?: UpstreamAnswer) => {
        if (done) return
        done = true
        stopListening()
        if (answer) resolve(answer)
        else reject(error)
      }
      const handler: Dispatcher.DispatchHandlers = {
        onConnect(abort) {
          abortRequest = abort
          if (abortedWith !== undefined) abort(abortedWith as Error)
        },
        onError(error) {
          finish(abortedWith ?? error)
        },
        onHeaders(statusCode, headers) {
          status = statusCode
          if (statusCode >= 400) rawHeaders = headers as unknown as Buffer[]
          return true
        },
        onData(chunk) {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) {
            abortRequest?.(new Error(`the upstream's answer is larger than ${MAX_ANSWER_BYTES} bytes`))
            return false
          }
          chunks.push(chunk)
          return true
        },
        onComplete() {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')
          finish(undefined, rawHeaders ? { status, text, headers: headerRecord(rawHeaders) } : { status, text })
        },
      }
      try {
        this.pool(url.origin).dispatch({ path: url.pathname + url.search, method: 'POST', headers, body }, handler)
      } catch (error) {
        finish(error)
      }
    })
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()))
    this.pools.clear()
  }
}

/** undici's raw header list (name, value, name, value, ...) as a record; repeated names are joined with ", ". */
function headerRecord(raw: Buffer[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!.toString('latin1').toLowerCase()
    const value = raw[index + 1]!.toString('latin1')
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
}
