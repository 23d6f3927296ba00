import type { Fault } from './faults'
import { type ResolvedReply, splitArguments, splitIntoChunks } from './replies'
import type { StreamEvents } from './send'

// Responses are assembled from constant pieces around the few per-request values: no object building, one
// JSON.stringify for the text. This path serves benchmarks at thousands of requests per second.

const quoted = new Map<string, string>()

/** `JSON.stringify(model)`, cached: models are few. */
export function quote(model: string): string {
  let value = quoted.get(model)
  if (value === undefined) {
    if (quoted.size > 10_000) quoted.clear()
    value = JSON.stringify(model)
    quoted.set(model, value)
  }
  return value
}

const USAGE_DETAILS =
  '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},' +
  '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,' +
  '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}'
const FINGERPRINT = '"service_tier":"default","system_fingerprint":"fp_llmpool_mock"'

function usageJson({ inputTokens, outputTokens }: ResolvedReply): string {
  const total = inputTokens + outputTokens
  return `{"prompt_tokens":${inputTokens},"completion_tokens":${outputTokens},"total_tokens":${total},${USAGE_DETAILS}}`
}

function toolCallId(reply: ResolvedReply, index: number, requestId: number): string {
  return JSON.stringify(reply.toolCalls[index]?.id ?? `call_mock_${requestId}_${index}`)
}

/** A `chat.completion` object, as OpenAI sends it. */
export function openAIChatJson(requestId: number, created: number, model: string, reply: ResolvedReply): string {
  let message: string
  let finishReason: string
  if (reply.toolCalls.length > 0) {
    const calls = reply.toolCalls.map((call, index) => {
      const functionJson = `{"name":${JSON.stringify(call.name)},"arguments":${JSON.stringify(call.argumentsJson)}}`
      return `{"id":${toolCallId(reply, index, requestId)},"type":"function","function":${functionJson}}`
    })
    const content = reply.content ? JSON.stringify(reply.content) : 'null'
    message = `{"role":"assistant","content":${content},"tool_calls":[${calls.join(
      ',',
    )}],"refusal":null,"annotations":[]}`
    finishReason = 'tool_calls'
  } else {
    message = `{"role":"assistant","content":${JSON.stringify(reply.content)},"refusal":null,"annotations":[]}`
    finishReason = 'stop'
  }
  const choice = `{"index":0,"message":${message},"logprobs":null,"finish_reason":"${finishReason}"}`
  const head = `"id":"chatcmpl-mock${requestId}","object":"chat.completion","created":${created},"model":${quote(
    model,
  )}`
  return `{${head},"choices":[${choice}],"usage":${usageJson(reply)},${FINGERPRINT}}`
}

/** The `chat.completion.chunk` events of a streamed answer; `includeUsage` adds the usage chunk. */
export function openAIChatStream(
  requestId: number,
  created: number,
  model: string,
  reply: ResolvedReply,
  includeUsage: boolean,
): StreamEvents {
  const head = `data: {"id":"chatcmpl-mock${requestId}","object":"chat.completion.chunk","created":${created},"model":${quote(
    model,
  )},${FINGERPRINT}`
  const suffix = includeUsage ? ',"usage":null}\n\n' : '}\n\n'
  const chunk = (delta: string, finishReason = 'null') =>
    `${head},"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finishReason}}]${suffix}`
  const pieces: string[] = []
  for (const text of reply.chunks ?? splitIntoChunks(reply.content)) {
    pieces.push(chunk(`{"content":${JSON.stringify(text)}}`))
  }
  reply.toolCalls.forEach((call, index) => {
    const start = `"id":${toolCallId(reply, index, requestId)},"type":"function"`
    pieces.push(
      chunk(
        `{"tool_calls":[{"index":${index},${start},"function":{"name":${JSON.stringify(call.name)},"arguments":""}}]}`,
      ),
    )
    for (const part of splitArguments(call.argumentsJson)) {
      pieces.push(chunk(`{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(part)}}}]}`))
    }
  })
  const tail = [chunk('{}', reply.toolCalls.length > 0 ? '"tool_calls"' : '"stop"')]
  if (includeUsage) tail.push(`${head},"choices":[],"usage":${usageJson(reply)}}\n\n`)
  tail.push('data: [DONE]\n\n')
  return { head: [chunk('{"role":"assistant","content":"","refusal":null}')], pieces, tail }
}

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (mock upstream fault).' },
  403: {
    type: 'invalid_request_error',
    code: null,
    message:
      "You have insufficient permissions for this operation. Check that you have the correct role in your organization and project, and if you're using a restricted API key, that it has the necessary scopes.",
  },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist or you do not have access to it.',
  },
  408: { type: 'server_error', code: null, message: 'Request timed out (mock upstream fault).' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests (mock upstream fault). Please try again later.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  502: { type: 'server_error', code: null, message: 'Bad gateway (mock upstream fault).' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
  529: { type: 'overloaded_error', code: null, message: 'Overloaded (mock upstream fault).' },
}

const KEYS_PAGE = 'https://platform.openai.com/account/api-keys'

/**
 * The `{ "error": {...} }` body OpenAI sends with `status`. A 401 is OpenAI's: `invalid_api_key` naming the request's
 * key, masked as OpenAI masks it, or, without a key, "You didn't provide an API key" with `code: null`.
 */
export function openAIErrorBody(status: number, apiKey?: string): string {
  const known = (status === 401 ? unauthorized(apiKey) : OPENAI_ERRORS[status]) ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message: `HTTP ${status} (mock upstream fault).`,
  }
  return JSON.stringify({ error: { message: known.message, type: known.type, param: null, code: known.code } })
}

/** OpenAI's 401: the key was wrong, or there was none. */
function unauthorized(apiKey: string | undefined): { type: string; code: string | null; message: string } {
  if (apiKey === undefined) {
    return {
      type: 'invalid_request_error',
      code: null,
      message: `You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from ${KEYS_PAGE}.`,
    }
  }
  return {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: `Incorrect API key provided: ${maskKey(apiKey)}. You can find your API key at ${KEYS_PAGE}.`,
  }
}

/** `sk-proj-…` as OpenAI prints it: the first 8 and last 4 characters; a key of 12 or fewer is all stars. */
function maskKey(apiKey: string): string {
  if (apiKey.length <= 12) return '*'.repeat(apiKey.length)
  return `${apiKey.slice(0, 8)}${'*'.repeat(apiKey.length - 12)}${apiKey.slice(-4)}`
}

/** OpenAI's answer to an exhausted quota: 429 with `insufficient_quota`. */
export const OPENAI_QUOTA_BODY = JSON.stringify({
  error: {
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
})

/** The error a 200 response carries under `errorInBody`. */
export function openAIErrorInBody(fault: Fault): string {
  if (fault.body !== undefined) return typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body)
  return JSON.stringify({
    error: {
      message: 'The server had an error processing your request (mock upstream: error in a 200 body).',
      type: 'server_error',
      param: null,
      code: null,
    },
  })
}

/** The whole stream of an `errorInBody` streamed request: one error event. */
export function openAIErrorInStream(fault: Fault): StreamEvents {
  return { head: [`data: ${openAIErrorInBody(fault)}\n\n`], pieces: [], tail: [] }
}

/** The `GET /v1/models` list: OpenAI's shape, with Anthropic's fields too, so that both clients read it. */
export function modelsListJson(models: Iterable<string>): string {
  const ids = [...models]
  const first = ids.length === 0 ? 'null' : quote(ids[0] as string)
  const last = ids.length === 0 ? 'null' : quote(ids[ids.length - 1] as string)
  const data = ids.map((id) => modelJson(id)).join(',')
  return `{"object":"list","data":[${data}],"has_more":false,"first_id":${first},"last_id":${last}}`
}

/** One model object (`GET /v1/models/{id}`). */
export function modelJson(id: string): string {
  const name = quote(id)
  return `{"id":${name},"object":"model","created":1700000000,"owned_by":"llmpool-mock","type":"model","display_name":${name},"created_at":"2023-11-14T22:13:20Z"}`
}
