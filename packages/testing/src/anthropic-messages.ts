import type { Fault } from './faults'
import { quote } from './openai-chat'
import { type ResolvedReply, splitArguments, splitIntoChunks } from './replies'
import type { StreamEvents } from './send'

function toolUseId(reply: ResolvedReply, index: number, requestId: number): string {
  return JSON.stringify(reply.toolCalls[index]?.id ?? `toolu_mock_${requestId}_${index}`)
}

function usageJson(inputTokens: number, outputTokens: number): string {
  return `{"input_tokens":${inputTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":${outputTokens}}`
}

/** A Messages API `message` object, as Anthropic sends it. */
export function anthropicMessageJson(requestId: number, model: string, reply: ResolvedReply): string {
  const blocks: string[] = []
  if (reply.content || reply.toolCalls.length === 0)
    blocks.push(`{"type":"text","text":${JSON.stringify(reply.content)}}`)
  reply.toolCalls.forEach((call, index) => {
    const id = toolUseId(reply, index, requestId)
    blocks.push(
      `{"type":"tool_use","id":${id},"name":${JSON.stringify(call.name)},"input":${inputJson(call.argumentsJson)}}`,
    )
  })
  const stopReason = reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn'
  const head = `"id":"msg_mock${requestId}","type":"message","role":"assistant","model":${quote(model)}`
  const stop = `"stop_reason":"${stopReason}","stop_sequence":null`
  return `{${head},"content":[${blocks.join(',')}],${stop},"usage":${usageJson(reply.inputTokens, reply.outputTokens)}}`
}

function event(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`
}

function blockStart(index: number, block: string): string {
  return event('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`)
}

function blockDelta(index: number, delta: string): string {
  return event('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":${delta}}`)
}

function blockStop(index: number): string {
  return event('content_block_stop', `{"type":"content_block_stop","index":${index}}`)
}

/** The events of a streamed answer: message_start, content blocks with their deltas, message_delta, message_stop. */
export function anthropicMessageStream(requestId: number, model: string, reply: ResolvedReply): StreamEvents {
  const message = `{"id":"msg_mock${requestId}","type":"message","role":"assistant","model":${quote(
    model,
  )},"content":[],"stop_reason":null,"stop_sequence":null,"usage":${usageJson(reply.inputTokens, 1)}}`
  const head = [event('message_start', `{"type":"message_start","message":${message}}`)]
  const pieces: string[] = []
  let index = 0
  if (reply.content || reply.toolCalls.length === 0) {
    // The first block opens in the head, so that a cut after 0 chunks leaves a started but empty answer.
    head.push(blockStart(0, '{"type":"text","text":""}'), event('ping', '{"type":"ping"}'))
    for (const text of reply.chunks ?? splitIntoChunks(reply.content)) {
      pieces.push(blockDelta(0, `{"type":"text_delta","text":${JSON.stringify(text)}}`))
    }
    pieces.push(blockStop(0))
    index = 1
  }
  reply.toolCalls.forEach((call, callIndex) => {
    const block = index + callIndex
    const id = toolUseId(reply, callIndex, requestId)
    pieces.push(blockStart(block, `{"type":"tool_use","id":${id},"name":${JSON.stringify(call.name)},"input":{}}`))
    for (const part of splitArguments(call.argumentsJson)) {
      pieces.push(blockDelta(block, `{"type":"input_json_delta","partial_json":${JSON.stringify(part)}}`))
    }
    pieces.push(blockStop(block))
  })
  const stopReason = reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn'
  const delta = `{"stop_reason":"${stopReason}","stop_sequence":null}`
  const tail = [
    event('message_delta', `{"type":"message_delta","delta":${delta},"usage":{"output_tokens":${reply.outputTokens}}}`),
    event('message_stop', '{"type":"message_stop"}'),
  ]
  return { head, pieces, tail }
}

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request (mock upstream fault).' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit (mock upstream fault).' },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
}

/** Anthropic's 401 without any key. */
const KEY_REQUIRED = { type: 'authentication_error', message: 'x-api-key header is required' }

/**
 * The `{ "type": "error", "error": {...} }` body Anthropic sends with `status`. A 401 is `authentication_error`:
 * "invalid x-api-key" for a request with a key, "x-api-key header is required" without.
 */
export function anthropicErrorBody(status: number, apiKey?: string): string {
  const known = (status === 401 && apiKey === undefined ? KEY_REQUIRED : ANTHROPIC_ERRORS[status]) ?? {
    type: status >= 500 ? 'api_error' : 'invalid_request_error',
    message: `HTTP ${status} (mock upstream fault).`,
  }
  return JSON.stringify({ type: 'error', error: known })
}

/** Anthropic's answer to an exhausted credit balance: 400, not 429. */
export const ANTHROPIC_QUOTA_BODY = JSON.stringify({
  type: 'error',
  error: {
    type: 'invalid_request_error',
    message:
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
  },
})

/** The error a 200 response carries under `errorInBody`. */
export function anthropicErrorInBody(fault: Fault): string {
  if (fault.body !== undefined) return typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body)
  return JSON.stringify({
    type: 'error',
    error: { type: 'overloaded_error', message: 'Overloaded (mock upstream: error in a 200 body)' },
  })
}

/** A streamed request under `errorInBody`: one `error` event, as Anthropic sends when it overloads mid-stream. */
export function anthropicErrorInStream(fault: Fault): StreamEvents {
  return { head: [`event: error\ndata: ${anthropicErrorInBody(fault)}\n\n`], pieces: [], tail: [] }
}

function inputJson(argumentsJson: string): string {
  try {
    const value: unknown = JSON.parse(argumentsJson)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? argumentsJson : '{}'
  } catch {
    return '{}'
  }
}
