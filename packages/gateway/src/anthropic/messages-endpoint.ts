import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider'
import type { Routing } from '@llmpool/router'
import type { LLMPool } from '@llmpool/wrappers'
import { type AccessLog, type AccessRecord, countFallbacks } from '../access-log'
import { endWhole } from '../end-whole'
import { parseMessagesBody, toCallOptions } from './convert-request'
import { toAnthropicMessage } from './convert-response'
import { anthropicErrorBody, streamErrorEvent, toAnthropicError } from './errors'
import { MessageEventWriter } from './event-writer'

/** The routes this module answers (POST). */
export const MESSAGES_PATHS: ReadonlySet<string> = new Set(['/v1/messages', '/v1/messages/count_tokens'])

/** What the endpoint borrows from the gateway that serves it. */
export interface MessagesEndpointOptions {
  /** The pool every request goes through (the one `/v1/chat/completions` uses). */
  pool: LLMPool
  /** The gateway token; undefined or empty: no auth. */
  token?: string
  /** The gateway's own `authorize` option, which replaces the token check when given. */
  authorize?: (request: IncomingMessage) => boolean | Promise<boolean>
  /** Reads the body within the gateway's size limit (an `HttpError` 413 past it). */
  readBody(request: IncomingMessage): Promise<string>
  /** The request's connection signal: aborted when the client goes away or shutdown gives up waiting. */
  signal(request: IncomingMessage): AbortSignal
  accessLog?: AccessLog
  /** Counts a response status for `/metrics` (499: the client went away). */
  count(status: number): void
  /** True while the gateway drains: answers then close their connection. */
  closing(): boolean
}

const JSON_TYPE = 'application/json'
/** What a request whose client hung up is counted as (nginx's "client closed request"); no answer is sent. */
const CLIENT_CLOSED = 499
const digest = (value: string) => createHash('sha256').update(value).digest()

/** Resolves when `response` can take more, or closed (both listeners go, so long streams do not pile them up). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done).off('close', done)
      resolve()
    }
    response.on('drain', done).on('close', done)
  })
}

/**
 * `POST /v1/messages`: the Anthropic Messages API (JSON and SSE) over the gateway's pools, task groups and wrappers,
 * through the same `pool.generate` / `pool.stream` as `/v1/chat/completions`, whatever the upstreams speak. It answers
 * every error itself, in Anthropic's shape (the gateway's own handler writes OpenAI's), and checks the token itself,
 * because Anthropic clients send it as `x-api-key` rather than `Authorization: Bearer`.
 */
export function messagesEndpoint(
  options: MessagesEndpointOptions,
): (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void> {
  const { pool, accessLog, count } = options
  const tokenDigest = options.token ? digest(options.token) : undefined
  /** Either header may carry the token; each is compared in constant time (SHA-256 digests: lengths do not leak). */
  const matches = (value: string | undefined) =>
    value !== undefined && value !== '' && timingSafeEqual(digest(value), tokenDigest!)
  const authorized = (request: IncomingMessage): boolean | Promise<boolean> => {
    if (options.authorize) return options.authorize(request)
    if (!tokenDigest) return true
    const apiKey = request.headers['x-api-key']
    const bearer = /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1]
    return matches(typeof apiKey === 'string' ? apiKey : undefined) || matches(bearer)
  }

  const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    count(status)
    response.writeHead(status, {
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(body),
      ...(options.closing() ? { connection: 'close' } : {}),
      ...headers,
    })
    endWhole(response, body)
  }
  /** Who served the request, as on the chat endpoint. */
  const routingHeaders = (routing: Routing) => ({
    'x-llmpool-instance': routing.instance,
    'x-llmpool-attempts': String(routing.attempts.length),
  })
  const noteResult = (
    record: AccessRecord | undefined,
    routing: Routing,
    inputTokens?: number,
    outputTokens?: number,
  ) => {
    if (!record) return
    record.instance = routing.instance
    record.attempts = routing.attempts.length
    record.fallbacks = countFallbacks(routing.attempts)
    if (inputTokens !== undefined) record.inputTokens = inputTokens
    if (outputTokens !== undefined) record.outputTokens = outputTokens
  }

  const messages = async (request: IncomingMessage, response: ServerResponse) => {
    const body = parseMessagesBody(await options.readBody(request))
    const model = body.model
    const record = accessLog?.record(response)
    if (record) {
      record.target = model
      record.stream = body.stream === true
      if (accessLog!.bodies)
        record.prompt = body.system === undefined ? body.messages : { system: body.system, messages: body.messages }
    }
    // Every check happens here, before routing: a malformed request is the client's 400 and touches no instance.
    const call = toCallOptions(body)
    const signal = options.signal(request)
    if (body.stream !== true) {
      const result = await pool.generate(model, call, { signal })
      noteResult(record, result.routing, result.usage.inputTokens.total, result.usage.outputTokens.total)
      send(response, 200, JSON.stringify(toAnthropicMessage(result, model)), routingHeaders(result.routing))
      return
    }
    const { stream, routing } = await pool.stream(model, call, { signal })
    noteResult(record, routing)
    count(200)
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...routingHeaders(routing),
      ...(options.closing() ? { connection: 'close' } : {}),
    })
    let pending = ''
    const writer = new MessageEventWriter((event) => void (pending += event), model)
    writer.start()
    const reader = stream.getReader()
    const flush = async () => {
      if (pending === '') return
      const ok = response.write(pending)
      pending = ''
      if (!ok && !response.destroyed) await drained(response)
    }
    try {
      for (;;) {
        const { done, value } = await reader.read()
        // A failure after the stream started is an `error` event, and the stream ends without `message_stop`: a
        // client must never take a cut answer for a complete one. The router never ends a failed stream cleanly;
        // a stream without finish is reported as an error too.
        const part = value as LanguageModelV3StreamPart | undefined
        if (done || part === undefined || part.type === 'error') {
          await flush()
          response.end(
            streamErrorEvent(part?.type === 'error' ? part.error : new Error('the stream ended without finishing')),
          )
          if (!done) void reader.cancel().catch(() => undefined)
          return
        }
        if (writer.part(part)) {
          if (record && part.type === 'finish')
            noteResult(record, routing, part.usage.inputTokens.total, part.usage.outputTokens.total)
          response.end(pending)
          void reader.cancel().catch(() => undefined)
          return
        }
        await flush()
        if (response.destroyed) {
          void reader.cancel(new Error('the client went away')).catch(() => undefined)
          return
        }
      }
    } finally {
      reader.releaseLock()
    }
  }

  return async (request, response, path) => {
    try {
      if (!(await authorized(request))) {
        return send(
          response,
          401,
          anthropicErrorBody(
            'authentication_error',
            'a valid gateway token is required (x-api-key or Authorization: Bearer)',
          ),
        )
      }
      // Token counts differ between the upstreams a name may route to, so no single answer would be right.
      if (path === '/v1/messages/count_tokens') {
        return send(
          response,
          404,
          anthropicErrorBody(
            'not_found_error',
            'POST /v1/messages/count_tokens is not supported by the llmpool gateway',
          ),
        )
      }
      await messages(request, response)
    } catch (error) {
      if (response.headersSent) {
        if (!response.writableEnded) response.end(streamErrorEvent(error))
        return
      }
      // The client went away: nothing to answer, and not the gateway's failure.
      if (response.destroyed || request.socket.destroyed || options.signal(request).aborted) {
        count(CLIENT_CLOSED)
        return
      }
      const answer = toAnthropicError(error)
      // A body we stopped reading: the connection closes once the answer is out.
      if (answer.status === 413) response.shouldKeepAlive = false
      send(response, answer.status, answer.body, answer.headers)
    }
  }
}
