import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { type ConfigStore, createConfigStore, type ResolvedConfig } from '@llmpool/config'
import { createRedisBreakerGroup, createRedisCooldowns } from '@llmpool/breaker'
import { type LimiterBackend, type RedisBackend, redisBackend } from '@llmpool/limiter'
import {
  defaultApiRoot,
  openAICompatibleProvider,
  openAIProvider,
  planToJSON,
  type ProviderDefinition,
  type Router,
  type RouterOptions,
  type Routing,
} from '@llmpool/router'
import { createLLMPool, type LLMPool, type LogDestination, type PoolLogger } from '@llmpool/wrappers'
import { dashboardHandler } from '@llmpool/dashboard'
import { type ChatCompletionRequest, parseBody, toCallOptions } from './convert-request'
import { toChatCompletion } from './convert-response'
import { HttpError, streamErrorBody, toHttpError } from './http-error'
import {
  PASS_THROUGH_KEY,
  type PassThroughAnswer,
  type PassThroughRequest,
  passThroughProvider,
  rewriteModel,
} from './pass-through'
import { type AccessLogOptions, type AccessRecord, AccessLog, countFallbacks } from './access-log'
import { processMetrics } from './process-metrics'
import { prometheusText } from './prometheus'
import { writeStream } from './stream-response'
import { endWhole } from './end-whole'
import { MESSAGES_PATHS, messagesEndpoint } from './anthropic/messages-endpoint'
import { Upstreams } from './upstream'
import { continueTraces, loadOpenTelemetry } from './tracing'
import { EMBEDDINGS_PATHS, embeddingsEndpoint } from './embeddings'
import { withPassThroughEmbeddings } from './pass-through-embeddings'

export interface GatewayOptions {
  /** The configuration directory (with `_registry.toml`), or a `ConfigStore` you own. */
  config: string | ConfigStore
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number
  /** Host to listen on. Default `127.0.0.1`. */
  host?: string
  /** Bearer token clients must send; default `LLMPOOL_GATEWAY_TOKEN`; empty or unset: no auth. */
  token?: string
  /** Largest request body (bytes); larger ones get a 413. Default 1 MiB. */
  maxBodyBytes?: number
  /** Watch the configuration directory and hot-reload. Default: the registry's `enable_hot_reload`. */
  watch?: boolean
  /**
   * At start, how long to wait for a configuration file caught half-written (written under 2 s before) to become
   * valid, rather than failing at once (ms; `createConfigStore`'s `startupWaitMs`). Default 3 000; 0: fail at once.
   */
  startupWaitMs?: number
  /** Variables for `${VAR}` in the configuration. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** A Redis URL: limits and breaker states are shared with every gateway on the same Redis and prefix. */
  redis?: string
  /** Key prefix of the shared limits. Default `llmpool`. */
  redisPrefix?: string
  /**
   * How long a crashed gateway's concurrency permits outlive it in Redis (ms): the others get them back after at
   * most this long. Default: the limiter's (10 s).
   */
  redisLeaseTtlMs?: number
  /**
   * While Redis is unreachable: `fail-closed` (default) answers 503 `limits_unavailable` with `retry-after`;
   * `fallback-memory` limits each gateway alone until Redis answers again.
   */
  redisOnUnavailable?: 'fail-closed' | 'fallback-memory'
  /** Most client connections at once; more are refused, so slow clients cannot use up the file descriptors. Default 1024. */
  maxConnections?: number
  /** Longest time to receive a request's headers, and its whole body (ms). Default 10 000 and 30 000. */
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** A limiter backend of your own (overrides `redis`). */
  limits?: LimiterBackend
  /** Providers by name, as the router takes them (they replace the pass-through ones of the same name). */
  providers?: Record<string, ProviderDefinition>
  /** Forward requests (JSON and streamed) to OpenAI-compatible instances as raw bytes. Default true. */
  passThrough?: boolean
  /**
   * More router options (`healthChecks`, `clock`, ...). Like every router option they win over what the files say
   * for every entry (`requestTimeoutMs`, `retry`, `attemptBudget`): leave them out to get what the library gets.
   */
  router?: Omit<RouterOptions, 'config' | 'limits' | 'providers'>
  /** Your own pino logger for the `[global.logging]` lines; `false`: none. Default: as `createLLMPool` does. */
  logger?: PoolLogger | false
  /** Where the default loggers write. Default `process.stdout`. */
  logDestination?: LogDestination
  /** Longest wait for in-flight requests on close (ms) before they are cut. Default 10 000. */
  shutdownTimeoutMs?: number
  /**
   * Decides who may call (replaces the bearer-token check; `/healthz` and `/readyz` stay open). Return true to let
   * the request through; false answers 401. Sees the request's headers only: the body is not read yet.
   */
  authorize?: (request: IncomingMessage) => boolean | Promise<boolean>
  /** One log line per request (target, instance, attempts, fallbacks, status, latency, tokens). Default: none. */
  accessLog?: AccessLogOptions
  /**
   * Serve the live dashboard (`@llmpool/dashboard`) at `/dashboard/`, behind the same token or `authorize` as every
   * other route. Default true.
   */
  dashboard?: boolean
}

export interface Gateway {
  /** `http://host:port`. */
  url: string
  router: Router
  store: ConfigStore
  /** The pool every request goes through: the same `createLLMPool` a library user makes. */
  pool: LLMPool
  /** Requests being served now. */
  inFlight(): number
  /** The dashboard's URL (`url` + `/dashboard/`); undefined with `dashboard: false`. */
  dashboard: string | undefined
  /** Stops accepting, drains in-flight requests (bounded by `shutdownTimeoutMs`), then closes router and store. */
  close(): Promise<void>
}

const MiB = 1024 * 1024
const JSON_TYPE = 'application/json'
/** Status codes as the keys of the response counters, made once. */
const STATUS_KEYS: Record<number, string> = Object.fromEntries(
  [200, 400, 401, 404, 413, 429, 499, 500, 502, 503, 504].map((status) => [status, String(status)]),
)
/** What a request whose client hung up is counted as (nginx's "client closed request"); no answer is sent. */
const CLIENT_CLOSED = 499

/** Digests make the comparison constant-time whatever the lengths. */
const digest = (value: string) => createHash('sha256').update(value).digest()

/** Every provider name of the configuration's instances, for the pass-through registrations. */
function providerNames(config: ResolvedConfig): Set<string> {
  const names = new Set<string>()
  for (const group of Object.values(config.task_groups)) {
    for (const echelon of Object.values(group.echelons ?? {})) {
      for (const model of (echelon as { models?: readonly string[] }).models ?? []) {
        const colon = model.indexOf(':')
        if (colon > 0) names.add(model.slice(0, colon))
      }
    }
  }
  return names
}

/** Starts an OpenAI-compatible gateway. Resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const ownsStore = typeof options.config === 'string'
  const store =
    typeof options.config === 'string'
      ? await createConfigStore({
          directory: options.config,
          // Started (or restarted by a supervisor) while someone writes a file: wait for the write to finish.
          startupWaitMs: options.startupWaitMs ?? 3_000,
          ...(options.watch !== undefined ? { watch: options.watch } : {}),
          ...(options.env ? { env: options.env } : {}),
        })
      : options.config
  const ownsLimits = options.limits === undefined && options.redis !== undefined
  const limits =
    options.limits ??
    (options.redis
      ? redisBackend({
          redis: options.redis,
          prefix: options.redisPrefix ?? 'llmpool',
          ...(options.redisLeaseTtlMs !== undefined ? { leaseTtlMs: options.redisLeaseTtlMs } : {}),
          ...(options.redisOnUnavailable ? { onUnavailable: options.redisOnUnavailable } : {}),
        })
      : undefined)
  const upstreams = new Upstreams()
  const providers: Record<string, ProviderDefinition> = {}
  if (options.passThrough !== false) {
    // Without a base_url the openai instances go where the AI SDK would send them: OPENAI_BASE_URL, else the API.
    providers.openai = passThroughProvider(
      openAIProvider(options.router?.openai),
      upstreams,
      () => defaultApiRoot('openai'),
      () => process.env.OPENAI_API_KEY,
    )
    for (const name of providerNames(store.current)) {
      if (name !== 'openai' && name !== 'anthropic')
        providers[name] = passThroughProvider(openAICompatibleProvider(), upstreams)
    }
  }
  if (options.passThrough !== false) {
    // `POST /v1/embeddings` passes through too (pass-through-embeddings.ts).
    for (const name of Object.keys(providers)) {
      const openai = name === 'openai'
      const inner = openai ? openAIProvider(options.router?.openai) : openAICompatibleProvider()
      providers[name] = withPassThroughEmbeddings(
        providers[name]!,
        inner,
        upstreams,
        openai ? () => defaultApiRoot('openai') : undefined,
        openai ? () => process.env.OPENAI_API_KEY : undefined,
      )
    }
  }
  Object.assign(providers, options.providers)
  // With Redis, breakers and cooldowns are shared too: a trip or a 429 seen by one gateway rests the instance in all.
  const logger = options.logger || undefined
  // Problems of the breakers' and cooldowns' Redis connections go to the log (at most one line a minute each).
  const redisWarning = (log: PoolLogger, sharing: string) => {
    let lastAt = -Infinity
    return (error: Error) => {
      const now = Date.now()
      if (now - lastAt < 60_000) return
      lastAt = now
      log.warn({ event: 'redis_error', sharing }, `${sharing} sharing over Redis: ${error.message}`)
    }
  }
  const breakers = options.redis
    ? await createRedisBreakerGroup({
        redis: options.redis,
        keyPrefix: `${options.redisPrefix ?? 'llmpool'}:breaker`,
        ...(logger ? { onError: redisWarning(logger, 'breaker state') } : {}),
      })
    : undefined
  const cooldowns = options.redis
    ? await createRedisCooldowns({
        redis: options.redis,
        keyPrefix: `${options.redisPrefix ?? 'llmpool'}:cooldowns`,
        ...(logger ? { onError: redisWarning(logger, 'cooldown') } : {}),
      })
    : undefined
  // With @opentelemetry/api installed, the router traces every request (unless `router.tracing` is false), and each
  // request continues the trace its headers carry. Without it: nothing loaded, nothing done (see tracing.ts).
  const openTelemetry = loadOpenTelemetry(options.router?.tracing)
  // Every request goes through the pool a library user makes: the same plan, tool policy, logging, cache and routing.
  const pool = await createLLMPool({
    configDir: store,
    router: {
      tracing: openTelemetry !== undefined,
      ...options.router,
      providers,
      ...(limits ? { limits } : {}),
      ...(breakers ? { breakers } : {}),
      ...(cooldowns ? { cooldowns } : {}),
    },
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
  })
  const router = pool.router
  // The shared limits' Redis going away and coming back, said at warn and info: while it is away every request is
  // answered 503 (fail-closed) or limited by this gateway alone (fallback-memory). Looked at once at start too, so
  // that a wrong --redis is in the log before the first request meets it.
  const redisEvents =
    ownsLimits && logger
      ? (limits as RedisBackend).onEvent((event) => {
          if (event.type === 'unavailable')
            logger.warn({ event: 'redis_unavailable', policy: event.policy }, event.message)
          else
            logger.info(
              { event: 'redis_recovered', downtimeMs: Math.round(event.downtimeMs) },
              'Redis answers again: limits are shared again',
            )
        })
      : undefined
  if (redisEvents) void (limits as RedisBackend).ping().catch(() => undefined)

  const accessLog = options.accessLog ? new AccessLog(options.accessLog) : undefined
  const token = options.token ?? process.env.LLMPOOL_GATEWAY_TOKEN
  const tokenDigest = token ? digest(token) : undefined
  const maxBodyBytes = options.maxBodyBytes ?? MiB
  const started = Math.floor(Date.now() / 1000)
  // The process's GC and event-loop observers start now, so the first scrape already has figures.
  processMetrics()
  const responses = new Map<string, number>()
  const inFlight = new Set<IncomingMessage>()
  // One AbortController per client connection, made by its first chat request and aborted when a response on it
  // closes unfinished (the client went away) or when shutdown gives up waiting. HTTP/1.1 serves a connection's
  // requests one after another, so this is the per-request signal without an AbortController per request.
  const connectionAborts = new WeakMap<Socket, AbortController>()
  const connectionSignal = (socket: Socket) => {
    let controller = connectionAborts.get(socket)
    if (!controller) connectionAborts.set(socket, (controller = new AbortController()))
    return controller.signal
  }
  const abortConnection = (socket: Socket, reason: Error) => {
    const controller = connectionAborts.get(socket)
    if (!controller) return
    connectionAborts.delete(socket)
    controller.abort(reason)
  }
  let closing = false
  let drained: (() => void) | undefined

  const count = (status: number) => {
    const key = STATUS_KEYS[status] ?? String(status)
    responses.set(key, (responses.get(key) ?? 0) + 1)
  }
  const send = (
    response: ServerResponse,
    status: number,
    body: string,
    headers?: Record<string, string>,
    type = JSON_TYPE,
  ) => {
    count(status)
    if (headers === undefined && !closing && !response.headersSent) {
      // The common answer, without building a header object.
      response.writeHead(status, ['content-type', type, 'content-length', String(Buffer.byteLength(body))])
      endWhole(response, body)
      return
    }
    if (response.headersSent) return void response.end()
    response.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      ...(closing ? { connection: 'close' } : {}),
      ...headers,
    })
    endWhole(response, body)
  }
  /** A 200 JSON answer that says who served it. */
  const sendRouted = (response: ServerResponse, body: string, routing: Routing) => {
    count(200)
    const headers = [
      'content-type',
      JSON_TYPE,
      'content-length',
      String(Buffer.byteLength(body)),
      'x-llmpool-instance',
      routing.instance,
      'x-llmpool-attempts',
      String(routing.attempts.length),
    ]
    if (closing) headers.push('connection', 'close')
    response.writeHead(200, headers)
    endWhole(response, body)
  }
  const noteResult = (record: AccessRecord, routing: Routing, inputTokens?: number, outputTokens?: number) => {
    record.instance = routing.instance
    record.attempts = routing.attempts.length
    record.fallbacks = countFallbacks(routing.attempts)
    if (inputTokens !== undefined) record.inputTokens = inputTokens
    if (outputTokens !== undefined) record.outputTokens = outputTokens
  }
  const sendError = (response: ServerResponse, error: unknown) => {
    const http = toHttpError(error)
    send(response, http.status, http.body(), http.headers)
  }

  const readBody = (request: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const declared = Number(request.headers['content-length'])
      const tooLarge = () =>
        new HttpError(
          413,
          'invalid_request_error',
          'request_too_large',
          `the request body is larger than ${maxBodyBytes} bytes`,
        )
      if (declared > maxBodyBytes) {
        discard(request)
        return reject(tooLarge())
      }
      const chunks: Buffer[] = []
      let size = 0
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBodyBytes) {
          request.removeAllListeners('data')
          discard(request)
          reject(tooLarge())
        } else chunks.push(chunk)
      }
      request.on('data', onData)
      request.once('end', () => {
        // The request object may outlive the request in the old generation (V8 pretenures it under load); listeners
        // left on it would keep this request's whole graph alive through young collections (docs/decisions/0009).
        request.removeListener('data', onData)
        request.removeListener('error', reject)
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'))
      })
      request.on('error', reject)
    })

  /**
   * Reads and drops the rest of a body too large to serve, for a while, so that a client still writing it gets to
   * read the 413 (closing at once makes fetch / undici clients fail with EPIPE, and the OpenAI SDK retry the upload).
   */
  const discard = (request: IncomingMessage) => {
    let dropped = 0
    request.on('data', (chunk: Buffer) => {
      dropped += chunk.length
      if (dropped > 64 * maxBodyBytes) request.socket.destroy()
    })
    request.resume()
    const timer = setTimeout(() => request.socket.destroy(), 10_000)
    timer.unref()
    request.once('end', () => clearTimeout(timer))
    request.once('close', () => clearTimeout(timer))
  }

  const chat = async (request: IncomingMessage, response: ServerResponse) => {
    const text = await readBody(request)
    const body: ChatCompletionRequest = parseBody(text)
    const model = body.model
    const record = accessLog?.record(response)
    if (record) {
      record.target = model
      record.stream = body.stream === true
      if (accessLog!.bodies) record.prompt = body.messages
    }
    const call = toCallOptions(body)
    // Given in the options, not in call.abortSignal: the router's per-attempt call is cheaper to make.
    const signal = connectionSignal(request.socket)
    // A stream goes through the pass-through too, unless its entry caches answers: the cache replays parts, and a
    // pass-through stream's text travels in raw parts, which it does not keep.
    const passThrough =
      options.passThrough !== false &&
      (body.stream !== true || router.plan.entries.get(model)?.services.cache === undefined)
    if (passThrough) {
      const forwarded: PassThroughRequest = {
        text,
        body: body as unknown as Record<string, unknown>,
        toolChoice: call.toolChoice,
      }
      call.providerOptions = { [PASS_THROUGH_KEY]: forwarded as unknown as Record<string, string> }
    }
    if (body.stream !== true) {
      const result = await pool.generate(model, call, { signal })
      const raw = result.providerMetadata?.[PASS_THROUGH_KEY] as PassThroughAnswer | undefined
      if (record) noteResult(record, result.routing, result.usage.inputTokens.total, result.usage.outputTokens.total)
      sendRouted(
        response,
        raw ? rewriteModel(raw, model) : JSON.stringify(toChatCompletion(result, model)),
        result.routing,
      )
      return
    }
    // The router answers once the stream is committed to an instance (its first content): failures before that
    // fell over to another instance, and nothing was written yet.
    const { stream, routing } = await pool.stream(model, call, { signal })
    if (record) noteResult(record, routing)
    count(200)
    const headers = [
      'content-type',
      'text/event-stream',
      'cache-control',
      'no-cache',
      'x-llmpool-instance',
      routing.instance,
      'x-llmpool-attempts',
      String(routing.attempts.length),
    ]
    if (closing) headers.push('connection', 'close')
    response.writeHead(200, headers)
    await writeStream(response, stream, {
      model,
      includeUsage: body.stream_options?.include_usage === true,
      routing: { instance: routing.instance, attempts: routing.attempts.length },
      ...(record ? { tokens: record } : {}),
    })
  }

  /** `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110), the token compared in constant time. */
  const authorized = (request: IncomingMessage) => {
    if (!tokenDigest) return true
    const header = request.headers.authorization
    if (typeof header !== 'string') return false
    const match = /^bearer +(\S+) *$/i.exec(header)
    return match !== null && timingSafeEqual(digest(match[1]!), tokenDigest)
  }

  // The page asks a person without the token for it, so it is routed before the gateway's own 401.
  const dashboard =
    options.dashboard === false
      ? undefined
      : dashboardHandler({
          router,
          store,
          basePath: '/dashboard',
          authorize: (request) => (options.authorize ? options.authorize(request) : authorized(request)),
        })

  const models = () => {
    const config = store.current
    const item = (id: string, owned_by: string) => ({ id, object: 'model', created: started, owned_by })
    return JSON.stringify({
      object: 'list',
      data: [
        ...Object.keys(config.wrappers).map((name) => item(name, 'llmpool:wrapper')),
        ...Object.keys(config.pools).map((name) => item(name, 'llmpool:pool')),
        ...Object.keys(config.task_groups).map((name) => item(name, 'llmpool:task_group')),
      ],
    })
  }

  /** One wrapper, pool or task group as `GET /v1/models` lists it, or undefined for any other name. */
  const model = (id: string) => {
    const config = store.current
    const owner = Object.hasOwn(config.wrappers, id)
      ? 'llmpool:wrapper'
      : Object.hasOwn(config.pools, id)
        ? 'llmpool:pool'
        : Object.hasOwn(config.task_groups, id)
          ? 'llmpool:task_group'
          : undefined
    return owner && JSON.stringify({ id, object: 'model', created: started, owned_by: owner })
  }
  const sendModel = (response: ServerResponse, path: string) => {
    let id: string
    try {
      id = decodeURIComponent(path.slice(path.indexOf('/models/') + '/models/'.length))
    } catch {
      id = path
    }
    const body = model(id)
    if (body) return send(response, 200, body)
    send(
      response,
      404,
      new HttpError(
        404,
        'invalid_request_error',
        'model_not_found',
        `the model ${JSON.stringify(id.slice(0, 200))} does not exist: name a wrapper, pool or task group (GET /v1/models)`,
        {},
        'model',
      ).body(),
    )
  }

  const adminState = async () => {
    const config = store.current
    const state = await router.state()
    return JSON.stringify({
      configuration: { hash: config.source.hash, version: config.registry.registry?.version },
      wrappers: Object.fromEntries(
        Object.entries(config.wrappers).map(([name, wrapper]) => [
          name,
          (wrapper as { pool_name?: string; task_group_name?: string }).pool_name ??
            (wrapper as { task_group_name?: string }).task_group_name,
        ]),
      ),
      targets: router.targets(),
      pools: state.pools,
      instances: state.instances,
      inFlight: inFlight.size,
    })
  }

  /**
   * Ready to take traffic: not draining, a configuration in force, and the shared state's Redis answering when one is
   * configured (a gateway that cannot reach it would answer 503 to everything, or limit alone).
   */
  const readiness = async () => {
    const checks: Record<string, string> = { configuration: 'ok' }
    if (closing) checks.shutdown = 'draining'
    const ping = (limits as { ping?: () => Promise<unknown> } | undefined)?.ping
    if (ping) {
      try {
        await ping()
        checks.redis = 'ok'
      } catch (error) {
        checks.redis = `unreachable: ${error instanceof Error ? error.message : String(error)}`
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok')
    return { ready, status: ready ? 'ready' : 'not_ready', hash: store.current.source.hash, checks }
  }

  /** A response closed: finished, or cut because the client went away (then its connection's signal aborts). */
  function onResponseClose(this: ServerResponse) {
    const request = this.req
    if (!this.writableFinished) abortConnection(request.socket, new Error('the client went away'))
    accessLog?.write(this)
    inFlight.delete(request)
    if (closing && inFlight.size === 0) drained?.()
  }

  const embeddings = embeddingsEndpoint({
    pool,
    readBody: (request) => readBody(request),
    signal: (request) => connectionSignal(request.socket),
    ...(accessLog ? { accessLog } : {}),
    sendRouted,
    passThrough: options.passThrough !== false,
  })

  // POST /v1/messages (Anthropic Messages API): the same pool, in Anthropic's shapes.
  const messages = messagesEndpoint({
    pool,
    ...(token ? { token } : {}),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    readBody: (request) => readBody(request),
    signal: (request) => connectionSignal(request.socket),
    ...(accessLog ? { accessLog } : {}),
    count,
    closing: () => closing,
  })

  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // How often those two are checked (Node's default, 30 s, would let a slow body sit for half a minute more).
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 65_000,
    },
    continueTraces(async (request, response) => {
      const url = request.url ?? '/'
      const query = url.indexOf('?')
      const path = query < 0 ? url : url.slice(0, query)
      // Not traffic: neither counted in flight nor access-logged, and its feeds end at close without a drain.
      if (dashboard && (path === '/dashboard' || path.startsWith('/dashboard/'))) return dashboard(request, response)
      inFlight.add(request)
      response.on('close', onResponseClose)
      accessLog?.start(request, response, path)
      try {
        if (path === '/healthz') return send(response, 200, JSON.stringify({ status: closing ? 'draining' : 'ok' }))
        if (path === '/readyz') {
          const ready = await readiness()
          return send(response, ready.ready ? 200 : 503, JSON.stringify(ready))
        }
        // Anthropic clients send the token as x-api-key: that endpoint checks it, and answers, in Anthropic's shape.
        if (request.method === 'POST' && MESSAGES_PATHS.has(path)) return await messages(request, response, path)
        if (!(options.authorize ? await options.authorize(request) : authorized(request))) {
          return send(
            response,
            401,
            new HttpError(401, 'invalid_request_error', 'invalid_api_key', 'a valid bearer token is required').body(),
            { 'www-authenticate': 'Bearer' },
          )
        }
        const method = request.method ?? 'GET'
        if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions'))
          return await chat(request, response)
        if (method === 'POST' && EMBEDDINGS_PATHS.has(path)) return await embeddings(request, response)
        if (method === 'GET' && (path === '/v1/models' || path === '/models')) return send(response, 200, models())
        if (method === 'GET' && (path.startsWith('/v1/models/') || path.startsWith('/models/')))
          return sendModel(response, path)
        if (method === 'GET' && path === '/metrics')
          return send(
            response,
            200,
            await prometheusText(router, { requests: responses, inFlight: inFlight.size }),
            {},
            'text/plain; version=0.0.4; charset=utf-8',
          )
        if (method === 'GET' && path === '/admin/state') return send(response, 200, await adminState())
        if (method === 'GET' && path === '/admin/plan')
          return send(response, 200, JSON.stringify(planToJSON(router.plan)))
        send(
          response,
          404,
          new HttpError(404, 'invalid_request_error', 'not_found', `no route ${method} ${path}`).body(),
        )
      } catch (error) {
        if (response.headersSent) {
          if (!response.writableEnded) response.end(`data: ${streamErrorBody(error)}\n\n`)
          return
        }
        // The client went away: nothing to answer, and not the gateway's failure (counted apart, as 499).
        if (
          response.destroyed ||
          connectionAborts.get(request.socket)?.signal.aborted === true ||
          request.socket.destroyed
        ) {
          count(CLIENT_CLOSED)
          return
        }
        const http = toHttpError(error)
        // A body we stopped reading: the connection closes once the answer is out.
        if (http.status === 413) response.shouldKeepAlive = false
        sendError(response, http)
      }
    }, openTelemetry),
  )
  server.maxConnections = options.maxConnections ?? 1024
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address

  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= (async () => {
      closing = true
      dashboard?.close()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve
          const timer = setTimeout(resolve, options.shutdownTimeoutMs ?? 10_000)
          timer.unref()
        })
        for (const request of inFlight) abortConnection(request.socket, new Error('the gateway is shutting down'))
      }
      server.closeAllConnections()
      await stopped
      await pool.dispose()
      await breakers?.dispose()
      await cooldowns?.dispose()
      redisEvents?.dispose()
      if (ownsLimits) await limits?.dispose()
      if (ownsStore) await store.dispose()
      await upstreams.close()
    })())

  const gatewayUrl = `http://${host}:${address.port}`
  return {
    url: gatewayUrl,
    router,
    store,
    pool,
    inFlight: () => inFlight.size,
    dashboard: dashboard ? `${gatewayUrl}/dashboard/` : undefined,
    close,
  }
}
