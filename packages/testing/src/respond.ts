import type { Clock } from '@llmpool/schema'
import {
  ANTHROPIC_QUOTA_BODY,
  anthropicErrorBody,
  anthropicErrorInBody,
  anthropicErrorInStream,
  anthropicMessageJson,
  anthropicMessageStream,
} from './anthropic-messages'
import type { Exchange } from './exchange'
import type { Fault } from './faults'
import {
  OPENAI_QUOTA_BODY,
  openAIChatJson,
  openAIChatStream,
  openAIErrorBody,
  openAIErrorInBody,
  openAIErrorInStream,
} from './openai-chat'
import type { MockUpstreamRequest, ResolvedReply } from './replies'
import { faultHeaders, includeUsage } from './request-utils'
import { sendBody, sendCutBody, sendStream } from './send'

// What goes back on the wire for one chat request: a fault's outcome, or the answer in the API's shape.

/** Answers with `fault`'s outcome; a fault without one (only timing) goes on to `answer`. */
export function applyFault(
  exchange: Exchange,
  fault: Fault,
  clock: Clock,
  answer: (exchange: Exchange, fault: Fault | undefined) => void,
): void {
  const anthropic = exchange.api === 'anthropic'
  if (fault.status !== undefined) {
    fail(exchange, fault.status, fault)
  } else if (fault.quotaExhausted) {
    exchange.failed = true
    sendBody(
      exchange.response,
      anthropic ? 400 : 429,
      anthropic ? ANTHROPIC_QUOTA_BODY : OPENAI_QUOTA_BODY,
      faultHeaders(fault),
    )
  } else if (fault.errorInBody) {
    exchange.failed = true
    if (exchange.stream) {
      const events = anthropic ? anthropicErrorInStream(fault) : openAIErrorInStream(fault)
      sendStream(exchange.response, events, {
        chunkDelayMs: 0,
        cutAfterChunks: undefined,
        clock,
        onCut: () => {},
        headers: faultHeaders(fault),
      })
    } else {
      sendBody(
        exchange.response,
        200,
        anthropic ? anthropicErrorInBody(fault) : openAIErrorInBody(fault),
        faultHeaders(fault),
      )
    }
  } else {
    answer(exchange, fault)
  }
}

/** An error status, with the API's error body (a 401 names the request's key, masked) or the fault's own. */
export function fail(exchange: Exchange, status: number, fault: Fault | undefined): void {
  exchange.failed = status >= 400
  const headers = fault ? faultHeaders(fault) : undefined
  if (fault?.body !== undefined) {
    const text = typeof fault.body === 'string'
    sendBody(
      exchange.response,
      status,
      text ? (fault.body as string) : JSON.stringify(fault.body),
      headers,
      text ? 'text/plain; charset=utf-8' : 'application/json',
    )
    return
  }
  sendBody(
    exchange.response,
    status,
    exchange.api === 'anthropic'
      ? anthropicErrorBody(status, exchange.arrival.request.apiKey)
      : openAIErrorBody(status, exchange.arrival.request.apiKey),
    headers,
  )
}

/** A reply function threw: a 500 in the API's shape, so that the test sees its message. */
export function replyFailed(exchange: Exchange, error: unknown): void {
  if (exchange.response.destroyed) return
  exchange.failed = true
  const message = `mock upstream reply function failed: ${error instanceof Error ? error.message : String(error)}`
  const body =
    exchange.api === 'anthropic'
      ? { type: 'error', error: { type: 'api_error', message } }
      : { error: { message, type: 'server_error', param: null, code: null } }
  sendBody(exchange.response, 500, JSON.stringify(body))
}

/** The normal answer (JSON or stream), shaped by the fault's timing and cut, if any. */
export function render(
  exchange: Exchange,
  fault: Fault | undefined,
  request: MockUpstreamRequest,
  reply: ResolvedReply,
  clock: Clock,
): void {
  const { response } = exchange
  if (response.destroyed) return
  const requestId = exchange.arrival.request.id
  const anthropic = exchange.api === 'anthropic'
  const headers = fault ? faultHeaders(fault) : undefined
  const onCut = () => {
    exchange.cut = true
  }
  if (exchange.stream) {
    const events = anthropic
      ? anthropicMessageStream(requestId, request.model, reply)
      : openAIChatStream(requestId, Math.floor(clock.now() / 1000), request.model, reply, includeUsage(request.body))
    sendStream(response, events, {
      chunkDelayMs: fault?.chunkDelayMs ?? 0,
      cutAfterChunks: fault?.streamCutAfterChunks,
      clock,
      onCut,
      headers,
    })
    return
  }
  const json = anthropic
    ? anthropicMessageJson(requestId, request.model, reply)
    : openAIChatJson(requestId, Math.floor(clock.now() / 1000), request.model, reply)
  if (fault?.streamCutAfterChunks !== undefined) sendCutBody(response, json, onCut)
  else sendBody(response, 200, json, headers)
}
