import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '@llmpool/schema'
import { type Exchange, outcomeOf } from './exchange'
import type { FaultSchedule } from './fault-schedule'
import { openAIEmbeddingsJson, parseEmbeddingsRequest } from './embeddings'
import { type Fault, faultKind } from './faults'
import { modelJson, modelsListJson, openAIErrorBody } from './openai-chat'
import type { Recorder } from './recorder'
import {
  describeConversation,
  type MockApi,
  type MockReply,
  type MockUpstreamRequest,
  type ResolvedReply,
  resolveReply,
} from './replies'
import { apiKeyOf, authorized, faultHeaders, methodNotAllowed, modelIdOf, readBody } from './request-utils'
import { applyFault, fail, render, replyFailed } from './respond'
import { sendBody, sendCutBody } from './send'

type Route = MockApi | 'models' | 'embeddings'

const ROUTES = new Map<string, Route>([
  ['/v1/chat/completions', 'openai'],
  ['/chat/completions', 'openai'],
  ['/v1/messages', 'anthropic'],
  ['/messages', 'anthropic'],
  ['/v1/embeddings', 'embeddings'],
  ['/embeddings', 'embeddings'],
  ['/v1/models', 'models'],
  ['/models', 'models'],
])

/** What the request handler reads from the upstream: its state, shared with the public methods. */
export interface ServeContext {
  readonly clock: Clock
  readonly faults: FaultSchedule
  readonly recorder: Recorder
  readonly replies: Map<string, MockReply>
  readonly models: Set<string>
  readonly requireApiKey: boolean | string
}

/** The `request` listener of the mock upstream's HTTP server. */
export function createRequestHandler(
  context: ServeContext,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { clock, faults, recorder, replies, models } = context

  function begin(
    request: IncomingMessage,
    response: ServerResponse,
    api: MockApi | 'models',
    path: string,
    model: string,
    stream: boolean,
    body: unknown,
  ): Exchange {
    const arrival = recorder.arrive({
      model,
      api,
      apiKey: apiKeyOf(request.headers, api === 'anthropic'),
      method: request.method ?? 'GET',
      path,
      stream,
      body,
      headers: request.headers,
      arrivedAt: clock.now(),
    })
    const exchange: Exchange = {
      arrival,
      response,
      api: api === 'anthropic' ? 'anthropic' : 'openai',
      stream,
      timer: undefined,
      failed: false,
      cut: false,
    }
    return exchange
  }

  /**
   * Counts the request's end. An answer sent synchronously (the common, fast case) is counted at once; any other
   * waits for the response's 'close': answered, cut on purpose, or the client hung up.
   */
  function settle(exchange: Exchange): void {
    const { response } = exchange
    if (response.writableEnded && !exchange.cut) {
      end(exchange)
      return
    }
    response.once('close', () => {
      if (exchange.timer !== undefined) clock.clearTimeout(exchange.timer)
      end(exchange)
    })
  }

  function end(exchange: Exchange): void {
    const { arrival, response } = exchange
    arrival.request.status = response.headersSent ? response.statusCode : undefined
    recorder.finish(arrival, outcomeOf(exchange), clock.now())
  }

  /** Applies the fault of the request's key or model (after its delay), or calls `answer` for a normal answer. */
  function serve(
    exchange: Exchange,
    model: string,
    answer: (exchange: Exchange, fault: Fault | undefined) => void,
  ): void {
    if (!authorized(exchange.arrival.request.headers, context.requireApiKey)) {
      fail(exchange, 401, undefined)
      return
    }
    const decision = faults.pick(model, exchange.arrival.request.apiKey)
    if (decision === undefined) {
      answer(exchange, undefined)
      return
    }
    const { fault, delayMs } = decision
    exchange.arrival.request.fault = faultKind(fault)
    if (fault.hang) return
    if (delayMs > 0) {
      exchange.timer = clock.setTimeout(() => {
        exchange.timer = undefined
        if (!exchange.response.destroyed) applyFault(exchange, fault, clock, answer)
      }, delayMs)
      return
    }
    applyFault(exchange, fault, clock, answer)
  }

  function answerChat(
    exchange: Exchange,
    fault: Fault | undefined,
    request: MockUpstreamRequest,
    awaitsReply: boolean,
    bodyBytes: number,
  ): void {
    let resolved: ResolvedReply | Promise<ResolvedReply>
    try {
      resolved = resolveReply(replies.get(request.model) ?? replies.get('*'), request, awaitsReply, bodyBytes)
    } catch (error) {
      replyFailed(exchange, error)
      return
    }
    if (resolved instanceof Promise) {
      resolved.then(
        (reply) => render(exchange, fault, request, reply, clock),
        (error: unknown) => replyFailed(exchange, error),
      )
      return
    }
    render(exchange, fault, request, resolved, clock)
  }

  function handleChat(
    request: IncomingMessage,
    response: ServerResponse,
    api: MockApi,
    path: string,
    raw: string,
  ): void {
    let body: Record<string, unknown> | undefined
    try {
      const parsed: unknown = JSON.parse(raw)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>
    } catch {
      // Answered below as a 400.
    }
    const model = typeof body?.model === 'string' && body.model !== '' ? body.model : undefined
    if (body === undefined || model === undefined) {
      const exchange = begin(request, response, api, path, '*', false, body)
      exchange.failed = true
      const message = body === undefined ? 'the body is not a JSON object' : 'the body has no "model"'
      const error =
        api === 'anthropic'
          ? { type: 'error', error: { type: 'invalid_request_error', message } }
          : { error: { message, type: 'invalid_request_error', param: null, code: null } }
      sendBody(response, 400, JSON.stringify(error))
      settle(exchange)
      return
    }
    models.add(model)
    const stream = body.stream === true
    const exchange = begin(request, response, api, path, model, stream, body)
    serve(exchange, model, (current, fault) => {
      const conversation = describeConversation(api, body)
      const chat: MockUpstreamRequest = {
        api,
        model,
        apiKey: current.arrival.request.apiKey,
        path,
        stream,
        body,
        headers: request.headers,
        lastUserText: conversation.lastUserText,
        toolNames: conversation.toolNames,
      }
      answerChat(current, fault, chat, conversation.awaitsReply, raw.length)
    })
    settle(exchange)
  }

  /** A 400 in OpenAI's shape, recorded as a failed request. */
  function badRequest(exchange: Exchange, param: string | null, message: string): void {
    exchange.failed = true
    sendBody(
      exchange.response,
      400,
      JSON.stringify({ error: { message, type: 'invalid_request_error', param, code: null } }),
    )
  }

  /**
   * `POST /v1/embeddings` (OpenAI's shape; see embeddings.ts): a request OpenAI would refuse gets its 400 at once,
   * before any fault; the others go through the model's and the key's faults like a chat request.
   */
  function handleEmbeddings(request: IncomingMessage, response: ServerResponse, path: string, raw: string): void {
    let body: Record<string, unknown> | undefined
    try {
      const parsed: unknown = JSON.parse(raw)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>
    } catch {
      // Answered below as a 400.
    }
    const model = typeof body?.model === 'string' && body.model !== '' ? body.model : undefined
    if (body === undefined || model === undefined) {
      const exchange = begin(request, response, 'openai', path, '*', false, body)
      badRequest(
        exchange,
        body === undefined ? null : 'model',
        body === undefined ? 'the body is not a JSON object' : 'the body has no "model"',
      )
      settle(exchange)
      return
    }
    models.add(model)
    const exchange = begin(request, response, 'openai', path, model, false, body)
    const parsed = parseEmbeddingsRequest(body)
    if (!parsed.ok) {
      if (authorized(request.headers, context.requireApiKey)) badRequest(exchange, parsed.param, parsed.message)
      else fail(exchange, 401, undefined)
      settle(exchange)
      return
    }
    serve(exchange, model, (current, fault) => {
      const json = openAIEmbeddingsJson(model, parsed)
      if (fault?.streamCutAfterChunks !== undefined) {
        sendCutBody(current.response, json, () => {
          current.cut = true
        })
      } else {
        sendBody(current.response, 200, json, fault ? faultHeaders(fault) : undefined)
      }
    })
    settle(exchange)
  }

  function handleModels(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    id: string | undefined,
  ): void {
    if (id !== undefined) models.add(id)
    const exchange = begin(request, response, 'models', path, id ?? '*', false, undefined)
    serve(exchange, id ?? '*', (current, fault) => {
      const json = id === undefined ? modelsListJson(models) : modelJson(id)
      if (fault?.streamCutAfterChunks !== undefined) {
        sendCutBody(current.response, json, () => {
          current.cut = true
        })
      } else {
        sendBody(current.response, 200, json, fault ? faultHeaders(fault) : undefined)
      }
    })
    settle(exchange)
  }

  return (request, response) => {
    const url = request.url ?? '/'
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    const route = ROUTES.get(path)
    if (route === 'openai' || route === 'anthropic') {
      if (request.method !== 'POST') return methodNotAllowed(response, 'POST')
      readBody(request, (error, raw) => {
        if (error) return sendBody(response, 413, openAIErrorBody(413))
        handleChat(request, response, route, path, raw)
      })
      return
    }
    if (route === 'embeddings') {
      if (request.method !== 'POST') return methodNotAllowed(response, 'POST')
      readBody(request, (error, raw) => {
        if (error) return sendBody(response, 413, openAIErrorBody(413))
        handleEmbeddings(request, response, path, raw)
      })
      return
    }
    const modelId = route === 'models' ? undefined : modelIdOf(path)
    if (route === 'models' || modelId !== undefined) {
      if (request.method !== 'GET') return methodNotAllowed(response, 'GET')
      request.resume()
      handleModels(request, response, path, modelId)
      return
    }
    request.resume()
    sendBody(
      response,
      404,
      JSON.stringify({
        error: {
          message: `mock upstream: no route for ${request.method} ${path}`,
          type: 'invalid_request_error',
          param: null,
          code: 'unknown_url',
        },
      }),
    )
  }
}
