import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Clock, systemClock } from '@llmpool/schema'
import { FaultSchedule } from './fault-schedule'
import type { Faults } from './faults'
import { type MockUpstreamStats, type RecordedRequest, Recorder, type RequestFilter } from './recorder'
import type { MockReply } from './replies'
import { createRequestHandler } from './serve'

/** Options of `createMockUpstream()`. */
export interface MockUpstreamOptions {
  /** Port to listen on. Default 0: a free port. */
  port?: number
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string
  /** Faults per model (`'*'`: every model, after its own rules), as `setFaults()` takes them. */
  faults?: Readonly<Record<string, Faults>>
  /** Faults per API key, tried before the model's rules, as `setKeyFaults()` takes them. */
  keyFaults?: Readonly<Record<string, Faults>>
  /** Replies per model (`'*'`: every model without its own). Default: the echo reply and the tool rule. */
  replies?: Readonly<Record<string, MockReply>>
  /** Models `GET /v1/models` lists, besides those requests named. */
  models?: readonly string[]
  /** Seed of the random draws (`rate`, `jitterMs`). Default 1. */
  seed?: number
  /** `true`: answer 401 when neither `Authorization: Bearer …` nor `x-api-key` is sent; a string: also require that key. */
  requireApiKey?: boolean | string
  /** Requests kept per model by `requests()` (the most recent). Default 1000; 0 keeps none (counters still count). */
  maxRecordedRequests?: number
  /** Keep request bodies in the records. Default true. */
  recordBodies?: boolean
  /** Clock for delays and timestamps. Default: the system clock. */
  clock?: Clock
}

/** A running mock upstream. */
export interface MockUpstream {
  /** Base URL, `http://127.0.0.1:PORT` (append `/v1` for AI SDK providers' `baseURL`). */
  readonly url: string
  /** The port it listens on. */
  readonly port: number
  /** Replaces the fault rules of `model` (`'*'`: every model, after its own rules). Throws `InvalidFaultsError`. */
  setFaults(model: string, faults: Faults): void
  /** Removes the fault rules of `model`, or every model's (`'*'` included; key rules stay). */
  clearFaults(model?: string): void
  /**
   * Replaces the fault rules of requests carrying `apiKey` (`Authorization: Bearer <key>` or `x-api-key: <key>`),
   * on every route. They are tried before the model's rules; one that does not apply (`rate`, `times` used up, a
   * sequence used up) falls through to them. Throws `InvalidFaultsError`.
   */
  setKeyFaults(apiKey: string, faults: Faults): void
  /** Removes the fault rules of `apiKey`, or every key's (model rules stay). */
  clearKeyFaults(apiKey?: string): void
  /** Sets how `model` (`'*'`: every model without its own) answers; undefined restores the default. */
  setReply(model: string, reply: MockReply | undefined): void
  /** Restores the default reply of `model`, or of every model. */
  clearReplies(model?: string): void
  /** Counters, in total, per model and per API key. */
  stats(): MockUpstreamStats
  /**
   * The recorded requests, oldest first: of all models, of one (`requests('gpt-4o')`), or those a filter picks
   * (`requests({ apiKey: 'sk-b' })`, `requests({ model, apiKey })`).
   */
  requests(filter?: string | RequestFilter): RecordedRequest[]
  /** Forgets counters and recorded requests (keeps faults and replies). */
  reset(): void
  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void>
  /** Stops listening and closes every connection, keep-alive and hanging ones included. */
  close(): Promise<void>
}

/**
 * Starts a mock LLM upstream speaking OpenAI Chat Completions, OpenAI Embeddings (`POST /v1/embeddings`: vectors from
 * `mockEmbedding`), Anthropic Messages and `GET /v1/models`.
 */
export async function createMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const { port = 0, host = '127.0.0.1', seed = 1, maxRecordedRequests = 1000, clock = systemClock } = options
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`)
  if (!Number.isInteger(maxRecordedRequests) || maxRecordedRequests < 0) {
    throw new RangeError(`maxRecordedRequests must be a whole number ≥ 0, got ${maxRecordedRequests}`)
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a number, got ${seed}`)

  const faults = new FaultSchedule(seed)
  for (const [model, spec] of Object.entries(options.faults ?? {})) faults.set(model, spec)
  for (const [apiKey, spec] of Object.entries(options.keyFaults ?? {})) faults.setKey(apiKey, spec)
  const replies = new Map(Object.entries(options.replies ?? {}))
  const models = new Set<string>(options.models)
  for (const model of [...replies.keys(), ...Object.keys(options.faults ?? {})]) if (model !== '*') models.add(model)
  const recorder = new Recorder(maxRecordedRequests, options.recordBodies ?? true)

  const handler = createRequestHandler({
    clock,
    faults,
    recorder,
    replies,
    models,
    requireApiKey: options.requireApiKey ?? false,
  })
  // No request timeout: a hanging fault hangs until the client gives up.
  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 }, handler)
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
  let closing: Promise<void> | undefined

  return {
    url,
    port: address.port,
    setFaults: (model, spec) => faults.set(model, spec),
    clearFaults: (model) => faults.clear(model),
    setKeyFaults: (apiKey, spec) => faults.setKey(apiKey, spec),
    clearKeyFaults: (apiKey) => faults.clearKey(apiKey),
    setReply: (model, reply) => {
      if (reply === undefined) replies.delete(model)
      else replies.set(model, reply)
      if (model !== '*') models.add(model)
    },
    clearReplies: (model) => {
      if (model === undefined) replies.clear()
      else replies.delete(model)
    },
    stats: () => recorder.stats(),
    requests: (filter) => recorder.requests(typeof filter === 'string' ? { model: filter } : filter),
    reset: () => recorder.reset(),
    whenIdle: () => recorder.whenIdle(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }).then(() => recorder.whenIdle()) // every destroyed socket's 'close' has been counted
      return closing
    },
  }
}
