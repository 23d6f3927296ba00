import type { ServerResponse } from 'node:http'
import type { MockApi } from './replies'
import type { Arrival } from './recorder'

/** One request being served. */
export interface Exchange {
  /** The request's record and the counters it updates when it ends. */
  readonly arrival: Arrival
  readonly response: ServerResponse
  /** Which API's shapes the answer and the errors take (the model endpoints answer as OpenAI). */
  readonly api: MockApi
  /** True when the client asked for server-sent events. */
  readonly stream: boolean
  /** The pending latency timer, cleared if the client hangs up first. */
  timer: unknown
  /** The answer sent is a failure (an error status, an error in the body). */
  failed: boolean
  /** The socket was cut on purpose (`streamCutAfterChunks`). */
  cut: boolean
}

/** A deliberate cut is a failure; an answer never ended means the client hung up. */
export function outcomeOf(exchange: Exchange): 'completed' | 'failed' | 'aborted' {
  if (exchange.cut) return 'failed'
  if (!exchange.response.writableEnded) return 'aborted'
  return exchange.failed ? 'failed' : 'completed'
}
