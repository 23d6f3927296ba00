import { connect as connectTcp, isIP, type Socket } from 'node:net'
import { type ConnectionOptions, connect as connectTls } from 'node:tls'

/**
 * What a request's caller hears, in the order an exchange goes: `onConnect` once (with a function that aborts the
 * request), `onHeaders` once, `onData` for each piece of the body, then `onComplete` — or `onError` at any point, and
 * nothing after it. `onHeaders` and `onData` return false to pause the connection until `resume` is called.
 * (The shape of undici's `DispatchHandlers`, with raw headers as strings and body pieces lent.)
 */
export interface ExchangeHandler {
  onConnect(abort: (reason?: Error) => void): void
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean
  /** A piece of the body, lent for this call only (the next read may land in the same memory): copy what you keep. */
  onData(chunk: Buffer): boolean
  onComplete(trailers: null): void
  onError(error: Error): void
}

export interface Http1PoolOptions {
  /** Connections open at once at most; requests beyond wait in order. Default 256. */
  connections?: number
  /** How long an idle connection is kept (ms); shorter when the server's `keep-alive: timeout=` says so. Default 30 000. */
  keepAliveMs?: number
  /** The largest response head (status line and headers), in bytes. Default 64 KiB. */
  maxHeadBytes?: number
  /** For https: origins, more options of `tls.connect` (`ca`, `cert`, `key`, ...). */
  tls?: ConnectionOptions
}

/** A failure of the exchange itself: the connection closed, the answer was not HTTP/1.1 as expected. */
export class UpstreamSocketError extends Error {
  override name = 'UpstreamSocketError'
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message)
  }
}

/** A request from its `post` to its end: waiting for a connection, then on one. */
class PooledRequest {
  connection: Connection | undefined
  ended = false
  constructor(
    readonly pool: Http1Pool,
    readonly head: string,
    readonly body: string,
    readonly handler: ExchangeHandler,
  ) {}

  /** Handed to the handler's `onConnect`: ends this exchange (and only this one) with `reason`. */
  readonly abort = (reason?: Error) => {
    if (this.ended) return
    const error = reason ?? new UpstreamSocketError('aborted', 'UND_ERR_ABORTED')
    if (this.connection) return this.connection.fail(error)
    this.ended = true
    this.pool.unqueue(this)
    this.handler.onError(error)
  }
}

/**
 * A keep-alive HTTP/1.1 client for one origin (http: or https:), for the gateway's pass-through: a POST with a
 * string body, the answer's body handed on in the pieces the socket reads. It does what the pass-through needs and
 * nothing else (no pipelining, no redirects, no request streams, no compression), at about half of undici's cost
 * per request, which was the largest part of the gateway's own (docs/decisions/0023). Sockets are reused last in,
 * first out; a socket that says anything while idle, or closes, is dropped.
 */
export class Http1Pool {
  private readonly idle: Connection[] = []
  private readonly waiting: PooledRequest[] = []
  private open = 0
  private closed = false
  private sweeper: NodeJS.Timeout | undefined
  readonly maxConnections: number
  readonly keepAliveMs: number
  readonly maxHeadBytes: number
  private readonly hostHeader: string
  private readonly tls: ConnectionOptions | undefined
  /** The last TLS session the origin gave: a new connection resumes it (no certificate chain sent and checked again). */
  private tlsSession: Buffer | undefined
  private readonly heads = new WeakMap<Record<string, string>, string>()

  constructor(
    readonly origin: URL,
    options: Http1PoolOptions = {},
  ) {
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:')
      throw new TypeError(`unsupported protocol ${origin.protocol} (http: or https:)`)
    this.maxConnections = options.connections ?? 256
    this.keepAliveMs = options.keepAliveMs ?? 30_000
    this.maxHeadBytes = options.maxHeadBytes ?? 64 * 1024
    this.hostHeader = origin.host
    this.tls = options.tls
  }

  /** POSTs `body` to `path` with `headers` (names in lower case, values without line breaks). */
  post(path: string, headers: Record<string, string>, body: string, handler: ExchangeHandler): void {
    if (this.closed) {
      handler.onError(new UpstreamSocketError('the upstream client is closed', 'UND_ERR_CLOSED'))
      return
    }
    let lines: string
    try {
      lines = this.headerLines(headers)
    } catch (error) {
      handler.onError(error as Error)
      return
    }
    const head = `POST ${path} HTTP/1.1\r\n${lines}content-length: ${Buffer.byteLength(body)}\r\n\r\n`
    const exchange = new PooledRequest(this, head, body, handler)
    handler.onConnect(exchange.abort)
    if (exchange.ended) return // aborted already
    const connection = this.idle.pop() ?? (this.open < this.maxConnections ? this.connect() : undefined)
    if (connection) connection.start(exchange)
    else this.waiting.push(exchange)
  }

  /** Takes a waiting exchange out of the queue (it was aborted). */
  unqueue(exchange: PooledRequest): void {
    const at = this.waiting.indexOf(exchange)
    if (at >= 0) this.waiting.splice(at, 1)
  }

  /** The header block of a headers object, rendered once per object (a model's headers are one object). */
  private headerLines(headers: Record<string, string>): string {
    let lines = this.heads.get(headers)
    if (lines === undefined) {
      lines = `host: ${this.hostHeader}\r\n`
      for (const [name, value] of Object.entries(headers)) {
        if (/[\r\n]/.test(name) || /[\r\n]/.test(value) || name.toLowerCase() === 'content-length')
          throw new TypeError(`invalid upstream header ${JSON.stringify(name)}`)
        lines += `${name}: ${value}\r\n`
      }
      this.heads.set(headers, lines)
    }
    return lines
  }

  private connect(): Connection {
    this.open++
    const { hostname, port, protocol } = this.origin
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
    const connection = new Connection(this)
    let socket: Socket
    if (protocol === 'https:') {
      const session = this.tlsSession
      const secure = connectTls({
        ...this.tls,
        host,
        port: Number(port || 443),
        ...(isIP(host) ? {} : { servername: host }),
        ALPNProtocols: ['http/1.1'],
        ...(session ? { session } : {}),
      })
      secure.on('session', (next: Buffer) => {
        this.tlsSession = next
      })
      // As Node's https.Agent does: a session that led to a failed handshake is not offered again.
      secure.once('error', () => {
        if (this.tlsSession === session) this.tlsSession = undefined
      })
      socket = secure
    } else {
      // Reads land in one buffer and go straight to the parser, without the socket's Readable stream.
      socket = connectTcp({
        host,
        port: Number(port || 80),
        onread: { buffer: READ_BUFFER, callback: connection.onRead },
      })
    }
    socket.setNoDelay(true)
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), Math.min(1000, this.keepAliveMs))
      this.sweeper.unref()
    }
    connection.attach(socket, protocol === 'https:')
    return connection
  }

  /** A connection finished an exchange and may take another. */
  release(connection: Connection): void {
    const next = this.waiting.shift()
    if (next) return connection.start(next)
    if (this.closed) return connection.destroy()
    connection.idleSince = performance.now()
    connection.idle()
    this.idle.push(connection)
  }

  /** A connection is gone (closed, failed, or dropped). */
  forget(connection: Connection): void {
    this.open--
    const at = this.idle.indexOf(connection)
    if (at >= 0) this.idle.splice(at, 1)
    // A request that waited for a free connection gets a new one.
    const next = !this.closed && this.open < this.maxConnections ? this.waiting.shift() : undefined
    if (next) this.connect().start(next)
  }

  private sweep(): void {
    const now = performance.now()
    // Oldest first: the stack's bottom.
    while (this.idle.length > 0 && now - this.idle[0]!.idleSince >= this.idle[0]!.keepAliveMs) this.idle[0]!.destroy()
    if (this.open === 0 && this.sweeper) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }

  /** Closes idle connections now and the others when their exchange ends; new requests fail. */
  close(): Promise<void> {
    this.closed = true
    for (const waiting of this.waiting.splice(0)) {
      waiting.ended = true
      waiting.handler.onError(new UpstreamSocketError('the upstream client is closed', 'UND_ERR_CLOSED'))
    }
    for (const connection of [...this.idle]) connection.destroy()
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
    return Promise.resolve()
  }
}

const enum Read {
  /** Between exchanges: any byte is unexpected. */
  Idle,
  Head,
  /** A body of `remaining` bytes. */
  Length,
  /** A chunk-size line. */
  ChunkSize,
  /** `remaining` bytes of a chunk. */
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkEnd,
  /** Trailer lines after the last chunk, up to an empty line. */
  Trailers,
  /** A body that ends when the server closes. */
  UntilClose,
}

/** Where plain sockets' reads land, one after another (a read is parsed before the next starts). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024)
const CR = 13
const LF = 10
const SPACE = 32
const ZERO = 48
const ONE = 49
const isDigit = (code: number) => code >= ZERO && code <= ZERO + 9

/** One socket and the exchange on it. */
class Connection {
  idleSince = 0
  keepAliveMs: number
  private exchange: PooledRequest | undefined
  private read = Read.Idle
  /** Bytes of an unfinished head or chunked-framing line (latin1). */
  private partial = ''
  private remaining = 0
  private reuse = true
  /** The answer ended within the read being parsed. */
  private ended = false
  private paused = false
  private gone = false
  /** Whether the exchange's first byte came. */
  private answered = false
  private readonly resume = () => {
    if (this.paused && !this.gone) {
      this.paused = false
      this.socket.resume()
    }
  }

  private socket!: Socket

  constructor(private readonly pool: Http1Pool) {
    this.keepAliveMs = pool.keepAliveMs
  }

  /** A plain socket's reads (`onread`): `data` is READ_BUFFER, valid until this returns. False pauses the socket. */
  readonly onRead = (size: number, data: Buffer): boolean => {
    this.onData(data.subarray(0, size))
    return !this.paused
  }

  attach(socket: Socket, emitsData: boolean): void {
    this.socket = socket
    // TLS sockets read through their stream.
    if (emitsData) socket.on('data', (data: Buffer) => this.onData(data))
    socket.on('end', () => this.onEnd())
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.onEnd())
  }

  /** Between exchanges the socket does not keep the process alive. */
  idle(): void {
    this.socket.unref()
  }

  start(exchange: PooledRequest): void {
    this.socket.ref()
    exchange.connection = this
    this.exchange = exchange
    this.read = Read.Head
    this.partial = ''
    this.reuse = true
    this.ended = false
    this.answered = false
    this.socket.write(exchange.head + exchange.body)
  }

  destroy(): void {
    if (this.gone) return
    this.gone = true
    this.socket.destroy()
    this.pool.forget(this)
  }

  /** Ends the exchange (if any) with `error` and drops the socket. */
  fail(error: Error): void {
    const exchange = this.exchange
    this.exchange = undefined
    this.destroy()
    if (exchange && !exchange.ended) {
      exchange.ended = true
      exchange.handler.onError(error)
    }
  }

  private onData(data: Buffer): void {
    try {
      this.parse(data)
    } catch (error) {
      // A handler threw: its exchange ends with that error rather than the process.
      this.fail(error as Error)
    }
  }

  private parse(data: Buffer): void {
    // Bytes while idle: nobody asked for them, and the next answer could not be told apart from them.
    if (this.exchange === undefined) return this.destroy()
    const exchange = this.exchange
    this.answered = true
    let at = 0
    while (at < data.length && !this.ended && this.exchange === exchange) {
      switch (this.read) {
        case Read.Head:
          at = this.readHead(data, at)
          break
        case Read.Length: {
          const end = Math.min(data.length, at + this.remaining)
          this.remaining -= end - at
          this.deliver(at === 0 && end === data.length ? data : data.subarray(at, end))
          at = end
          if (this.remaining === 0) this.ended = true
          break
        }
        case Read.ChunkData: {
          const end = Math.min(data.length, at + this.remaining)
          this.remaining -= end - at
          this.deliver(data.subarray(at, end))
          at = end
          if (this.remaining === 0) this.read = Read.ChunkEnd
          break
        }
        case Read.UntilClose:
          this.deliver(at === 0 ? data : data.subarray(at))
          at = data.length
          break
        default:
          at = this.readLine(data, at)
      }
    }
    // Bytes after the end of the answer: the socket is not reused.
    if (this.ended && this.exchange === exchange) this.complete(at === data.length)
  }

  /** Reads the status line and headers; returns where the body starts (data.length while the head is unfinished). */
  private readHead(data: Buffer, at: number): number {
    if (this.partial === '') {
      const end = data.indexOf('\r\n\r\n', at, 'latin1')
      if (end >= 0 && end - at <= this.pool.maxHeadBytes) {
        this.onHead(data.toString('latin1', at, end))
        return end + 4
      }
    }
    // The head spans reads (its end marker may too): gather it, and look in the whole.
    this.partial += data.toString('latin1', at)
    const whole = this.partial.indexOf('\r\n\r\n')
    if (whole < 0 ? this.partial.length > this.pool.maxHeadBytes : whole > this.pool.maxHeadBytes) {
      this.fail(this.protocolError('the response head is too large'))
      return data.length
    }
    if (whole < 0) return data.length
    const bodyAt = data.length - (this.partial.length - whole - 4)
    const head = this.partial.slice(0, whole)
    this.partial = ''
    this.onHead(head)
    return bodyAt
  }

  private onHead(head: string): void {
    // `HTTP/1.x NNN` then a space or the end of the line; read by character, without a regular expression or a split
    // (a head is parsed per request: this was a tenth of the client's cost).
    let lineEnd = head.indexOf('\r\n')
    if (lineEnd < 0) lineEnd = head.length
    if (
      !head.startsWith('HTTP/1.') ||
      (head.charCodeAt(7) !== ZERO && head.charCodeAt(7) !== ONE) ||
      head.charCodeAt(8) !== SPACE ||
      !isDigit(head.charCodeAt(9)) ||
      !isDigit(head.charCodeAt(10)) ||
      !isDigit(head.charCodeAt(11)) ||
      (lineEnd > 12 && head.charCodeAt(12) !== SPACE)
    )
      return this.fail(this.protocolError(`not an HTTP/1.x status line: ${head.slice(0, Math.min(lineEnd, 80))}`))
    const status = (head.charCodeAt(9) - ZERO) * 100 + (head.charCodeAt(10) - ZERO) * 10 + head.charCodeAt(11) - ZERO
    let keepAlive = head.charCodeAt(7) === ONE
    let length: number | undefined
    let chunked = false
    const raw: string[] = []
    for (let at = lineEnd + 2; at < head.length; ) {
      let end = head.indexOf('\r\n', at)
      if (end < 0) end = head.length
      const colon = head.indexOf(':', at)
      if (colon <= at || colon > end)
        return this.fail(this.protocolError(`a malformed header line: ${head.slice(at, Math.min(end, at + 80))}`))
      const name = head.slice(at, colon)
      const value = head.slice(colon + 1, end).trim()
      raw.push(name, value)
      at = end + 2
      // Only four names matter here; the rest are compared by length first.
      const size = name.length
      if (size !== 14 && size !== 17 && size !== 10) continue
      const lower = name.toLowerCase()
      if (lower === 'content-length') {
        const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN
        if (Number.isNaN(parsed) || (length !== undefined && length !== parsed))
          return this.fail(this.protocolError(`an invalid content-length: ${value.slice(0, 40)}`))
        length = parsed
      } else if (lower === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value)
      } else if (lower === 'connection') {
        const tokens = value.toLowerCase()
        if (tokens.includes('close')) keepAlive = false
        else if (tokens.includes('keep-alive')) keepAlive = true
      } else if (lower === 'keep-alive') {
        const timeout = /timeout=(\d+)/i.exec(value)
        // A second early, as undici does: the server may close at its timeout while a request is on its way.
        if (timeout) this.keepAliveMs = Math.min(this.pool.keepAliveMs, Number(timeout[1]) * 1000 - 1000)
      }
    }
    // 1xx: an interim answer; the real one follows.
    if (status < 200) {
      if (status === 101) this.fail(this.protocolError('the upstream switched protocols'))
      return
    }
    // Both lengths (a request-smuggling shape): read as chunked, and not reused.
    this.reuse = keepAlive && this.keepAliveMs > 0 && !(chunked && length !== undefined)
    const exchange = this.exchange!
    if (!exchange.handler.onHeaders(status, raw, this.resume)) this.pause()
    if (this.exchange !== exchange) return
    if (status === 204 || status === 304) this.ended = true
    else if (chunked) this.read = Read.ChunkSize
    else if (length !== undefined) {
      this.remaining = length
      this.read = Read.Length
      if (length === 0) this.ended = true
    } else {
      this.read = Read.UntilClose
      this.reuse = false
    }
  }

  /** Reads a line of the chunked framing (a chunk size, the CRLF after a chunk, a trailer); returns where it ended. */
  private readLine(data: Buffer, at: number): number {
    const lf = data.indexOf(LF, at)
    if (lf < 0) {
      this.partial += data.toString('latin1', at)
      if (this.read === Read.ChunkEnd ? this.partial !== '\r' : this.partial.length > 4096)
        this.fail(
          this.protocolError(
            this.read === Read.ChunkEnd ? 'a chunk did not end with CRLF' : 'a line of the chunked framing is too long',
          ),
        )
      return data.length
    }
    let line = this.partial + data.toString('latin1', at, lf)
    this.partial = ''
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1)
    if (this.read === Read.ChunkEnd) {
      if (line !== '') this.fail(this.protocolError('a chunk did not end with CRLF'))
      else this.read = Read.ChunkSize
    } else if (this.read === Read.Trailers) {
      if (line === '') this.ended = true
    } else {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line)
      if (!size) this.fail(this.protocolError(`an invalid chunk size: ${line.slice(0, 40)}`))
      else {
        this.remaining = Number.parseInt(size[1]!, 16)
        this.read = this.remaining === 0 ? Read.Trailers : Read.ChunkData
      }
    }
    return lf + 1
  }

  private deliver(chunk: Buffer): void {
    if (chunk.length > 0 && !this.exchange!.handler.onData(chunk)) this.pause()
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true
      this.socket.pause()
    }
  }

  /** The answer is whole: the handler hears, then the connection goes back to the pool (unless not to be reused). */
  private complete(reusable: boolean): void {
    const exchange = this.exchange!
    this.exchange = undefined
    exchange.ended = true
    this.read = Read.Idle
    this.resume()
    exchange.handler.onComplete(null)
    if (reusable && this.reuse && !this.gone) this.pool.release(this)
    else this.destroy()
  }

  private onEnd(): void {
    if (this.exchange && this.read === Read.UntilClose) return this.complete(false)
    this.fail(
      new UpstreamSocketError(
        this.answered ? 'the upstream closed the connection mid-answer' : 'the upstream closed the connection',
        'UND_ERR_SOCKET',
      ),
    )
  }

  private protocolError(message: string): UpstreamSocketError {
    return new UpstreamSocketError(`${message} (from ${this.pool.origin.origin})`, 'HPE_INVALID')
  }
}
