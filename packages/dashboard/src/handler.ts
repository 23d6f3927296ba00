import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Asset, loadAssets, PageNotBuiltError } from './assets'
import { type Authorize, bearerToken } from './auth'
import { DashboardFeed, type DashboardFeedOptions, sseMessage } from './feed'

export interface DashboardOptions extends DashboardFeedOptions {
  /** Where the dashboard is mounted: its page is at `basePath/`, its data under `basePath/api/`. Default `/dashboard`. */
  basePath?: string
  /**
   * A bearer token the page and its data need (`Authorization: Bearer <token>`); a person without it gets a prompt
   * for it. Default: none (anyone who reaches the handler sees the dashboard).
   */
  token?: string
  /** Decides who may see the data, instead of `token` (the gateway passes its own check). */
  authorize?: Authorize
}

/** A `node:http` request handler (also for Express, Fastify's `raw`, Hono's node adapter) with its feed. */
export interface DashboardHandler {
  /** Serves the page and its data; other paths go to `next` when given, else get a 404. Never throws. */
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): Promise<void>
  /** The data behind the page (to read the same snapshots in a program, or count connected pages). */
  readonly feed: DashboardFeed
  /** Ends the connected pages' feeds and stops listening to the router; later requests get a 503. */
  close(): void
}

/** A page's feed may hold this much unsent text before it is dropped: a stuck reader must not grow the heap. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/** The page runs only its own script and style, talks only to its own origin, and cannot be framed. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }

/**
 * The dashboard: a live page of every wrapper, pool, task group and instance of `router`, with its event feed and
 * the configuration's history. Read-only: it answers GET and HEAD only, and nothing it serves changes the router.
 *
 * Routes, under `basePath`: `/` the page (a 401 login page without the token), `/app.js` and `/app.css` (the same
 * for everyone: the package's built files, no data), `/api/snapshot` (JSON), `/api/feed` (server-sent events: a
 * `hello`, then a `tick` every second). The data routes need the token, in the `Authorization` header only.
 */
export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  const basePath = (options.basePath ?? '/dashboard').replace(/\/+$/, '')
  if (basePath !== '' && !basePath.startsWith('/'))
    throw new RangeError(`basePath must start with "/" (got "${options.basePath}")`)
  const authorize = options.authorize ?? (options.token ? bearerToken(options.token) : undefined)
  const feed = new DashboardFeed(options)
  const streams = new Set<ServerResponse>()
  let assets: Map<string, Asset> | undefined
  let closed = false

  const plain = (response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    if (response.headersSent) return void response.end()
    response.writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    })
    response.end(`${text}\n`)
  }

  const serveAsset = (request: IncomingMessage, response: ServerResponse, name: string, status = 200) => {
    assets ??= loadAssets(basePath)
    const asset = assets.get(name)!
    const headers: Record<string, string> = { ...COMMON_HEADERS, 'content-type': asset.type, etag: asset.etag }
    if (name === 'index.html') {
      headers['content-security-policy'] = CONTENT_SECURITY_POLICY
      headers['x-frame-options'] = 'DENY'
      headers['cache-control'] = 'no-store'
      if (status === 401) headers['www-authenticate'] = 'Bearer'
    } else {
      headers['cache-control'] = 'no-cache'
      if (request.headers['if-none-match'] === asset.etag) {
        response.writeHead(304, headers)
        return void response.end()
      }
    }
    headers['content-length'] = String(asset.body.length)
    response.writeHead(status, headers)
    response.end(request.method === 'HEAD' ? undefined : asset.body)
  }

  const serveFeed = async (response: ServerResponse) => {
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Reverse proxies (nginx) must pass each message on at once.
      'x-accel-buffering': 'no',
    })
    response.socket?.setNoDelay(true)
    streams.add(response)
    response.once('close', () => streams.delete(response))
    const write = (chunk: string) => {
      if (response.destroyed) return
      if (response.writableLength > MAX_BUFFERED_BYTES) return void response.destroy()
      response.write(chunk)
    }
    const subscription = await feed.connect(write)
    if (response.destroyed || closed) subscription.dispose()
    else response.once('close', () => subscription.dispose())
  }

  const handle = async (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => {
    const url = request.url ?? '/'
    const query = url.indexOf('?')
    let path = query < 0 ? url : url.slice(0, query)
    // Under a framework that strips the mount path (Express `app.use('/dashboard', handler)`) the path is already relative.
    if (basePath !== '' && (path === basePath || path.startsWith(`${basePath}/`))) path = path.slice(basePath.length)
    if (path === '') path = '/'
    const known =
      path === '/' ||
      path === '/index.html' ||
      path === '/app.js' ||
      path === '/app.css' ||
      path === '/api/snapshot' ||
      path === '/api/feed'
    if (!known) {
      if (next) return next()
      return plain(response, 404, `no dashboard route ${path}`)
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return plain(response, 405, 'the dashboard is read-only: GET and HEAD only', { allow: 'GET, HEAD' })
    if (closed) return plain(response, 503, 'the dashboard is closed')
    if (path === '/app.js' || path === '/app.css') return serveAsset(request, response, path.slice(1))
    const allowed = authorize ? await authorize(request) : true
    if (path === '/' || path === '/index.html') return serveAsset(request, response, 'index.html', allowed ? 200 : 401)
    if (!allowed)
      return plain(response, 401, 'a valid bearer token is required (Authorization: Bearer <token>)', {
        'www-authenticate': 'Bearer',
      })
    if (path === '/api/snapshot') {
      const body = JSON.stringify(await feed.hello())
      response.writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'content-length': String(Buffer.byteLength(body)),
      })
      return void response.end(request.method === 'HEAD' ? undefined : body)
    }
    if (request.method === 'HEAD')
      return plain(response, 200, '', { 'content-type': 'text/event-stream; charset=utf-8' })
    return serveFeed(response)
  }

  const handler = (async (request, response, next) => {
    try {
      await handle(request, response, next)
    } catch (error) {
      if (PageNotBuiltError.isInstance(error)) return plain(response, 503, error.message)
      if (response.headersSent) return void response.end(sseMessage('error', { message: 'the dashboard failed' }))
      plain(response, 500, `the dashboard failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }) as DashboardHandler
  Object.defineProperty(handler, 'feed', { value: feed, enumerable: true })
  handler.close = () => {
    if (closed) return
    closed = true
    feed.close()
    for (const response of streams) response.end()
    streams.clear()
  }
  return handler
}
