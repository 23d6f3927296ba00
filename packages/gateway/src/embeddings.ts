import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SharedV3ProviderOptions } from '@ai-sdk/provider'
import type { Routing } from '@llmpool/router'
import type { LLMPool } from '@llmpool/wrappers'
import { type AccessLog, countFallbacks } from './access-log'
import { HttpError } from './http-error'
import { checkJsonText } from './json-guard'
import { PASS_THROUGH_KEY, type PassThroughAnswer, type PassThroughRequest, rewriteModel } from './pass-through'

/** The paths of OpenAI's embeddings endpoint. */
export const EMBEDDINGS_PATHS: ReadonlySet<string> = new Set(['/v1/embeddings', '/embeddings'])

/** What the endpoint borrows from the gateway that serves it. */
export interface EmbeddingsEndpointOptions {
  /** The pool every request goes through (the one `/v1/chat/completions` uses). */
  pool: LLMPool
  /** Reads the body within the gateway's size limit (an `HttpError` 413 past it). */
  readBody(request: IncomingMessage): Promise<string>
  /** The request's connection signal: aborted when the client goes away or shutdown gives up waiting. */
  signal(request: IncomingMessage): AbortSignal
  accessLog?: AccessLog
  /** Writes a 200 JSON answer with the `x-llmpool-instance` and `x-llmpool-attempts` headers. */
  sendRouted(response: ServerResponse, body: string, routing: Routing): void
  /** Forward requests to OpenAI-compatible instances as bytes (`--no-pass-through`: false). */
  passThrough: boolean
}

/** An OpenAI embeddings request, as checked. */
interface EmbeddingsRequest {
  model: string
  input: string[]
  encoding: 'float' | 'base64'
  dimensions?: number
  user?: string
}

const invalid = (message: string, param: string, code = 'invalid_value') =>
  new HttpError(400, 'invalid_request_error', code, `${param}: ${message}`, {}, param)
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const isTokenArray = (value: unknown) =>
  Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'number')

/**
 * Checks an embeddings body. `input` is a string or a list of strings; token arrays are refused: token ids belong
 * to one model's tokenizer, and a pool may send the request to another model (docs/decisions/0017). Whether a
 * string is acceptable (an empty one, one too long) is the upstream's to say: its 400 reaches the client as a 400.
 */
export function parseEmbeddingsBody(text: string): { request: EmbeddingsRequest; body: Record<string, unknown> } {
  checkJsonText(text)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'invalid_json', 'the request body is not valid JSON')
  }
  if (!isObject(body))
    throw new HttpError(400, 'invalid_request_error', 'invalid_request', 'the request body must be a JSON object')
  const { model, input, encoding_format: encoding, dimensions, user } = body
  if (typeof model !== 'string' || model === '')
    throw invalid('is required (a wrapper, pool or task group name)', 'model')
  let values: string[]
  if (typeof input === 'string') values = [input]
  else if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string'))
    values = input as string[]
  else if (isTokenArray(input) || (Array.isArray(input) && input.length > 0 && input.every(isTokenArray))) {
    throw invalid(
      'token arrays are not supported: send the text (a pool may route to models with other tokenizers)',
      'input',
      'unsupported_input',
    )
  } else throw invalid('must be a string or a non-empty list of strings', 'input')
  if (encoding !== undefined && encoding !== 'float' && encoding !== 'base64')
    throw invalid("must be 'float' or 'base64'", 'encoding_format')
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && (dimensions as number) > 0))
    throw invalid('must be a positive integer', 'dimensions')
  if (user !== undefined && typeof user !== 'string') throw invalid('must be a string', 'user')
  const request: EmbeddingsRequest = { model, input: values, encoding: encoding ?? 'float' }
  if (dimensions !== undefined) request.dimensions = dimensions as number
  if (user !== undefined) request.user = user
  return { request, body }
}

/** `dimensions` and `user` for the AI SDK's OpenAI and OpenAI-compatible embedding models (each reads its own key). */
function providerOptionsOf(request: EmbeddingsRequest): SharedV3ProviderOptions | undefined {
  if (request.dimensions === undefined && request.user === undefined) return undefined
  const options: Record<string, number | string> = {}
  if (request.dimensions !== undefined) options.dimensions = request.dimensions
  if (request.user !== undefined) options.user = request.user
  return { openai: options, openaiCompatible: options }
}

/** A vector as OpenAI's `base64` encoding writes it: its float32 little-endian bytes. */
function base64Of(vector: readonly number[]): string {
  const floats = new Float32Array(vector)
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64')
}

/** OpenAI's embeddings answer for the AI SDK's result. */
function embeddingsJson(
  embeddings: readonly (readonly number[])[],
  model: string,
  encoding: 'float' | 'base64',
  tokens: number | undefined,
): string {
  return JSON.stringify({
    object: 'list',
    data: embeddings.map((embedding, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? base64Of(embedding) : embedding,
    })),
    model,
    usage: { prompt_tokens: tokens ?? 0, total_tokens: tokens ?? 0 },
  })
}

/**
 * `POST /v1/embeddings`: OpenAI's embeddings API over the gateway's wrappers, pools and task groups, through
 * `pool.embed` (routing, limits, breakers, cooldowns, retries, fallback and deadlines as for chat). The whole
 * `input` is one upstream request. OpenAI-compatible instances get the client's body as it came (pass-through);
 * others (a provider of your own) get the AI SDK's call, and the answer is written in the encoding the client asked
 * for. Errors are thrown as the gateway's `HttpError`s or router errors, which the server writes in OpenAI's shape.
 */
export function embeddingsEndpoint(
  options: EmbeddingsEndpointOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const { pool } = options
  return async (request, response) => {
    const text = await options.readBody(request)
    const { request: embeddings, body } = parseEmbeddingsBody(text)
    const record = options.accessLog?.record(response)
    if (record) {
      record.target = embeddings.model
      record.stream = false
      if (options.accessLog!.bodies) record.prompt = embeddings.input
    }
    let providerOptions = providerOptionsOf(embeddings)
    if (options.passThrough) {
      const passThrough: PassThroughRequest = { text, body }
      providerOptions = { ...providerOptions, [PASS_THROUGH_KEY]: passThrough as unknown as Record<string, string> }
    }
    const result = await pool.embed(
      embeddings.model,
      providerOptions ? { values: embeddings.input, providerOptions } : { values: embeddings.input },
      { signal: options.signal(request) },
    )
    const { routing } = result
    if (record) {
      record.instance = routing.instance
      record.attempts = routing.attempts.length
      record.fallbacks = countFallbacks(routing.attempts)
      if (result.usage) record.inputTokens = result.usage.tokens
    }
    const raw = result.providerMetadata?.[PASS_THROUGH_KEY] as PassThroughAnswer | undefined
    options.sendRouted(
      response,
      raw
        ? rewriteModel(raw, embeddings.model)
        : embeddingsJson(result.embeddings, embeddings.model, embeddings.encoding, result.usage?.tokens),
      routing,
    )
  }
}
