/**
 * The pass-through's HTTP/1.1 client against servers that write raw bytes: framing (length, chunked, until close),
 * reads split anywhere, keep-alive reuse and when a socket must not be reused, aborts, malformed answers, TLS.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { afterEach, describe, expect, test } from 'vitest'
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { type ExchangeHandler, Http1Pool, type Http1PoolOptions, UpstreamSocketError } from '../src/http1'
import { Upstreams } from '../src/upstream'
import { messageReader } from './helpers'

interface Received {
  head: string
  body: string
  connection: number
}

/** A server that reads requests (content-length framed) and lets `answer` write whatever bytes it likes. */
async function rawServer(
  answer: (request: Received, socket: Socket, index: number) => void,
  make: (listener: (socket: Socket) => void) => Server = createServer,
) {
  const received: Received[] = []
  const sockets: Socket[] = []
  const server = make((socket) => {
    const connection = sockets.push(socket) - 1
    socket.on('error', () => undefined)
    socket.on(
      'data',
      messageReader((head, body) => {
        const request = { head, body, connection }
        received.push(request)
        answer(request, socket, received.length - 1)
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  servers.push({ server, sockets })
  return { port, received, sockets }
}

const servers: { server: Server; sockets: Socket[] }[] = []
const pools: Http1Pool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close()
  for (const { server, sockets } of servers.splice(0)) {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})

const poolFor = (port: number, options?: Http1PoolOptions, protocol = 'http') => {
  const pool = new Http1Pool(new URL(`${protocol}://127.0.0.1:${port}`), options)
  pools.push(pool)
  return pool
}

interface Outcome {
  status?: number
  headers?: Record<string, string>
  body: string
  pieces: number
  error?: Error
}

/** Posts and collects what the handler heard; `hooks` may act on the way (abort, pause). */
function post(
  pool: Http1Pool,
  body = '{"a":1}',
  hooks: {
    headers?: Record<string, string>
    onConnect?: (abort: (reason?: Error) => void) => void
    onData?: (chunk: Buffer, resume: () => void) => boolean
  } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { body: '', pieces: 0 }
    const chunks: Buffer[] = []
    let resume: () => void = () => undefined
    let settled = 0
    const handler: ExchangeHandler = {
      onConnect: (abort) => hooks.onConnect?.(abort),
      onHeaders(status, raw, resumeSocket) {
        resume = resumeSocket
        outcome.status = status
        outcome.headers = {}
        for (let index = 0; index < raw.length; index += 2) outcome.headers[raw[index]!] = raw[index + 1]!
        return true
      },
      onData(chunk) {
        chunks.push(Buffer.from(chunk))
        outcome.pieces++
        return hooks.onData ? hooks.onData(chunk, resume) : true
      },
      onComplete() {
        settled++
        outcome.body = Buffer.concat(chunks).toString('utf8')
        resolve(outcome)
      },
      onError(error) {
        settled++
        outcome.error = error
        outcome.body = Buffer.concat(chunks).toString('utf8')
        resolve(outcome)
      },
    }
    pool.post('/v1/chat/completions', hooks.headers ?? { 'content-type': 'application/json' }, body, handler)
    // A handler hears one ending, never two.
    setTimeout(() => expect(settled).toBeLessThanOrEqual(1), 50)
  })
}

const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

/** Writes `bytes` in pieces of `size` bytes, one per turn of the event loop (separate reads on the other side). */
async function writeSplit(socket: Socket, bytes: string, size: number) {
  const buffer = Buffer.from(bytes)
  for (let at = 0; at < buffer.length; at += size) {
    socket.write(buffer.subarray(at, at + size))
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const chunked = (pieces: string[], trailer = '') =>
  `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${pieces
    .map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`)
    .join('')}0\r\n${trailer}\r\n`

describe('Http1Pool', () => {
  test('sends the request as given, with host and content-length, and reads a length-framed answer', async () => {
    const server = await rawServer((_request, socket) => socket.write(ok('{"ok":true}')))
    const pool = poolFor(server.port)
    const outcome = await post(pool, '{"text":"héllo"}', {
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    })
    expect(outcome).toMatchObject({ status: 200, body: '{"ok":true}' })
    expect(outcome.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '11' })
    const { head, body } = server.received[0]!
    expect(head.split('\r\n')).toEqual([
      'POST /v1/chat/completions HTTP/1.1',
      `host: 127.0.0.1:${server.port}`,
      'content-type: application/json',
      'authorization: Bearer k',
      `content-length: ${Buffer.byteLength('{"text":"héllo"}')}`,
    ])
    expect(body).toBe('{"text":"héllo"}')
  })

  test('keeps the connection alive: requests one after another share one socket', async () => {
    const server = await rawServer((request, socket) => socket.write(ok(request.body)))
    const pool = poolFor(server.port)
    for (let index = 0; index < 5; index++) expect((await post(pool, `{"n":${index}}`)).body).toBe(`{"n":${index}}`)
    expect(server.sockets).toHaveLength(1)
  })

  test('at most `connections` sockets; requests beyond wait their turn, in order', async () => {
    const server = await rawServer((request, socket) => setTimeout(() => socket.write(ok(request.body)), 10))
    const pool = poolFor(server.port, { connections: 2 })
    const outcomes = await Promise.all(Array.from({ length: 7 }, (_, index) => post(pool, `{"n":${index}}`)))
    expect(outcomes.map((outcome) => outcome.body)).toEqual(Array.from({ length: 7 }, (_, index) => `{"n":${index}}`))
    expect(server.sockets).toHaveLength(2)
    expect(server.received.map((request) => request.body)).toEqual(outcomes.map((outcome) => outcome.body))
  })

  test('chunked answers, split at every byte: the same body, chunk extensions and trailers read past', async () => {
    const pieces = ['data: {"a":1}\n\n', 'data: {"b":"ü\r\n\r\n"}\n\n', 'data: [DONE]\n\n']
    const whole = chunked(pieces, 'x-trailer: 1\r\n').replace('\r\n0\r\n', '\r\n0;ext=1\r\n')
    for (const size of [1, 2, 3, 7, 1000]) {
      const server = await rawServer((_request, socket) => void writeSplit(socket, whole, size))
      const pool = poolFor(server.port)
      const first = await post(pool)
      expect(first.error).toBeUndefined()
      expect(first.body).toBe(pieces.join(''))
      // The trailers were consumed: the socket is reused for the next request.
      const second = await post(pool)
      expect(second.body).toBe(pieces.join(''))
      expect(server.sockets).toHaveLength(1)
    }
  })

  test('a head split anywhere, with a body that holds a blank line, and interim 1xx answers skipped', async () => {
    const body = '{"text":"a\r\n\r\nb"}'
    const whole = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n${ok(body)}`
    for (const size of [1, 2, 3, 5, 17, 1000]) {
      const server = await rawServer((_request, socket) => void writeSplit(socket, whole, size))
      const outcome = await post(poolFor(server.port))
      expect(outcome).toMatchObject({ status: 200, body })
    }
  })

  test('a body that ends when the server closes: read whole, and the socket not reused', async () => {
    const server = await rawServer((_request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ')
      setTimeout(() => socket.end('close'), 5)
    })
    const pool = poolFor(server.port)
    expect((await post(pool)).body).toBe('until close')
    expect((await post(pool)).body).toBe('until close')
    expect(server.sockets).toHaveLength(2)
  })

  test('not reused after `connection: close`, a short keep-alive hint, HTTP/1.0, or bytes past the answer', async () => {
    const answers = [
      ok('{}', 'connection: close\r\n'),
      ok('{}', 'keep-alive: timeout=1\r\n'),
      'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}',
      `${ok('{}')}HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{"evil":1}`,
    ]
    for (const answer of answers) {
      const server = await rawServer((request, socket) =>
        socket.write(request.connection === 0 ? answer : ok('{"fresh":true}')),
      )
      const pool = poolFor(server.port)
      expect((await post(pool)).body).toBe('{}')
      expect((await post(pool)).body).toBe('{"fresh":true}')
      expect(server.sockets).toHaveLength(2)
    }
  })

  test('an idle socket that speaks or closes is dropped: the next request gets a new one, without an error', async () => {
    const server = await rawServer((_request, socket) => socket.write(ok('{}')))
    const pool = poolFor(server.port)
    await post(pool)
    server.sockets[0]!.write('HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"stale":1}')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await post(pool)).toMatchObject({ status: 200, body: '{}' })
    server.sockets[1]!.end()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await post(pool)).toMatchObject({ status: 200, body: '{}' })
    expect(server.sockets).toHaveLength(3)
  })

  test('an idle socket is closed after keepAliveMs', async () => {
    const server = await rawServer((_request, socket) => socket.write(ok('{}')))
    const pool = poolFor(server.port, { keepAliveMs: 50 })
    await post(pool)
    const closed = new Promise((resolve) => server.sockets[0]!.once('close', resolve))
    await closed
    await post(pool)
    expect(server.sockets).toHaveLength(2)
  })

  test('status lines without a reason, and header names in any case', async () => {
    const answers = [
      'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}',
      'HTTP/1.1 201 Created\r\nTRANSFER-ENCODING: Chunked\r\nX-Other:x\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-LENGTH:   2  \r\n\r\n{}',
    ]
    for (const [index, answer] of answers.entries()) {
      const server = await rawServer((_request, socket, at) => socket.write(at === 0 ? answer : ok('{"fresh":true}')))
      const pool = poolFor(server.port)
      expect(await post(pool)).toMatchObject({ status: index === 1 ? 201 : 200, body: '{}' })
      expect((await post(pool)).body).toBe('{"fresh":true}')
      // Reused after the first two; `Connection: Close` is read whatever its case.
      expect(server.sockets).toHaveLength(index === 2 ? 2 : 1)
    }
  })

  test('204 and a zero length end at the head', async () => {
    const server = await rawServer((_request, socket, index) =>
      socket.write(index === 0 ? 'HTTP/1.1 204 No Content\r\n\r\n' : ok('')),
    )
    const pool = poolFor(server.port)
    expect(await post(pool)).toMatchObject({ status: 204, body: '', pieces: 0 })
    expect(await post(pool)).toMatchObject({ status: 200, body: '', pieces: 0 })
    expect(server.sockets).toHaveLength(1)
  })

  test('malformed answers fail the exchange with an error that names the origin; nothing crashes', async () => {
    const answers: [string, RegExp][] = [
      ['SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1.x status line/],
      ['HTTP/2 200\r\n\r\n', /not an HTTP\/1.x status line/],
      ['HTTP/1.1 2x0 OK\r\n\r\n', /not an HTTP\/1.x status line/],
      ['HTTP/1.1 2000\r\n\r\n', /not an HTTP\/1.x status line/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\n', /invalid content-length/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', /invalid content-length/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header line/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /invalid chunk size/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}XX', /did not end with CRLF/],
      [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`, /head is too large/],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', /switched protocols/],
    ]
    for (const [answer, message] of answers) {
      const server = await rawServer((_request, socket) => socket.write(answer))
      const outcome = await post(poolFor(server.port))
      expect(outcome.error, answer.slice(0, 40)).toBeInstanceOf(UpstreamSocketError)
      expect(outcome.error!.message).toMatch(message)
      expect(outcome.error!.message).toContain(`http://127.0.0.1:${server.port}`)
    }
  })

  test('a connection closed before or during the answer fails the exchange, and says which', async () => {
    const server = await rawServer((_request, socket, index) => {
      if (index === 0) socket.destroy()
      else socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"cut')
    })
    const pool = poolFor(server.port)
    expect((await post(pool)).error?.message).toMatch(/closed the connection$/)
    const cut = await post(pool)
    expect(cut.error?.message).toMatch(/closed the connection mid-answer/)
    expect(cut.body).toBe('{"cut')
  })

  test('a refused connection fails the exchange', async () => {
    const server = await rawServer(() => undefined)
    const pool = poolFor(server.port)
    const { server: listening } = servers.pop()!
    await new Promise((resolve) => listening.close(resolve))
    expect((await post(pool)).error).toMatchObject({ code: 'ECONNREFUSED' })
  })

  test('abort: before the answer, mid-answer, while waiting for a connection, and late (no harm to the next)', async () => {
    const server = await rawServer((request, socket) => {
      if (request.body === 'hang') return
      if (request.body === 'half') return void socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"half')
      socket.write(ok(request.body))
    })
    const pool = poolFor(server.port, { connections: 1 })
    const reason = new Error('caller gave up')

    let abortHang!: (reason?: Error) => void
    const hanging = post(pool, 'hang', { onConnect: (abort) => (abortHang = abort) })
    // Waits for the only connection, then is aborted there.
    let abortQueued!: (reason?: Error) => void
    const queued = post(pool, 'queued', { onConnect: (abort) => (abortQueued = abort) })
    abortQueued(reason)
    expect((await queued).error).toBe(reason)
    await new Promise((resolve) => setTimeout(resolve, 10))
    abortHang(reason)
    expect((await hanging).error).toBe(reason)

    let abortHalf!: (reason?: Error) => void
    const half = post(pool, 'half', {
      onConnect: (abort) => (abortHalf = abort),
      onData: () => {
        abortHalf(reason)
        return true
      },
    })
    const pending = post(pool, 'after') // waits: the half answer holds the only connection
    expect(await half).toMatchObject({ error: reason, body: '{"half' })
    expect((await pending).body).toBe('after')

    // Already aborted: nothing is sent.
    const sent = server.received.length
    const early = await post(pool, 'never', { onConnect: (abort) => abort(reason) })
    expect(early.error).toBe(reason)
    expect(server.received.length).toBe(sent)

    // An abort after the exchange ended does not touch the next exchange on the same socket.
    let late!: (reason?: Error) => void
    expect((await post(pool, 'one', { onConnect: (abort) => (late = abort) })).body).toBe('one')
    const next = post(pool, 'two')
    late(reason)
    expect(await next).toMatchObject({ status: 200, body: 'two' })
  })

  test('pieces are lent: answers read in turns over two sockets come out whole (Upstreams keeps copies)', async () => {
    const texts = ['a', 'b'].map((letter) => JSON.stringify({ choices: [{ text: letter.repeat(3000) }], n: 'é' }))
    const sockets: Socket[] = []
    let arrived!: () => void
    const both = new Promise<void>((resolve) => (arrived = resolve))
    const server = await rawServer((_request, socket) => {
      sockets.push(socket)
      if (sockets.length === 2) arrived()
    })
    const upstreams = new Upstreams()
    const url = new URL(`http://127.0.0.1:${server.port}/v1/chat/completions`)
    const call = { prompt: [] } as unknown as LanguageModelV3CallOptions
    const answers = texts.map((_text, index) => upstreams.post(url, {}, `{"n":${index}}`, call))
    await both
    // Each answer in 1 000-byte pieces, the two sockets taking turns: every read lands in the same buffer.
    const bytes = sockets.map((_socket, index) => Buffer.from(ok(texts[index]!)))
    for (let at = 0; at < Math.max(...bytes.map((b) => b.length)); at += 1000) {
      for (const [index, socket] of sockets.entries()) socket.write(bytes[index]!.subarray(at, at + 1000))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect((await Promise.all(answers)).map((answer) => answer.text)).toEqual(texts)
    await upstreams.close()
  })

  test('a handler that pauses gets the rest once it resumes', async () => {
    const pieces = Array.from({ length: 50 }, (_, index) => `data: ${index} ${'x'.repeat(2000)}\n\n`)
    const server = await rawServer((_request, socket) => void writeSplit(socket, chunked(pieces), 8192))
    const pool = poolFor(server.port)
    let paused = 0
    const outcome = await post(pool, '{}', {
      onData: (_chunk, resume) => {
        paused++
        setTimeout(resume, 1)
        return false
      },
    })
    expect(outcome.body).toBe(pieces.join(''))
    expect(paused).toBeGreaterThan(1)
  })

  test('a handler that throws ends its exchange with that error, not the process', async () => {
    const server = await rawServer((request, socket) => socket.write(ok(request.body)))
    const pool = poolFor(server.port)
    const outcome = await post(pool, 'boom', {
      onData: () => {
        throw new Error('handler bug')
      },
    })
    expect(outcome.error?.message).toBe('handler bug')
    expect((await post(pool, 'fine')).body).toBe('fine')
  })

  test('header values with line breaks are refused before anything is sent', async () => {
    const server = await rawServer((request, socket) => socket.write(ok(request.body)))
    const pool = poolFor(server.port)
    const outcome = await post(pool, '{}', { headers: { authorization: 'Bearer k\r\nx-injected: 1' } })
    expect(outcome.error).toBeInstanceOf(TypeError)
    expect(outcome.error!.message).not.toContain('Bearer')
    expect(server.received).toHaveLength(0)
  })

  test('https: origins, with the server name sent and the certificate checked', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'llmpool-http1-'))
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
          '-keyout',
          path.join(folder, 'key.pem'),
          '-out',
          path.join(folder, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      )
      const key = readFileSync(path.join(folder, 'key.pem'))
      const cert = readFileSync(path.join(folder, 'cert.pem'))
      const names: (string | false)[] = []
      const resumed: boolean[] = []
      const server = await rawServer(
        // The second answer closes the connection: the third request needs a new one.
        (_request, socket, index) => socket.write(ok('{"tls":true}', index === 1 ? 'connection: close\r\n' : '')),
        (listener) =>
          createTlsServer({ key, cert }, (socket) => {
            names.push((socket as unknown as { servername: string | false }).servername)
            resumed.push(socket.isSessionReused())
            listener(socket)
          }),
      )
      const trusted = new Http1Pool(new URL(`https://localhost:${server.port}`), { tls: { ca: cert } })
      pools.push(trusted)
      expect(await post(trusted)).toMatchObject({ status: 200, body: '{"tls":true}' })
      expect(await post(trusted)).toMatchObject({ body: '{"tls":true}' })
      expect(names).toEqual(['localhost'])
      expect(await post(trusted)).toMatchObject({ body: '{"tls":true}' })
      // The new connection resumed the first one's TLS session.
      expect(names).toEqual(['localhost', 'localhost'])
      expect(resumed).toEqual([false, true])
      const untrusted = new Http1Pool(new URL(`https://localhost:${server.port}`))
      pools.push(untrusted)
      expect((await post(untrusted)).error?.message).toMatch(/self-signed|certificate/i)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  test('after close, new requests fail and idle sockets are gone', async () => {
    const server = await rawServer((_request, socket) => socket.write(ok('{}')))
    const pool = poolFor(server.port)
    await post(pool)
    const closed = new Promise((resolve) => server.sockets[0]!.once('close', resolve))
    await pool.close()
    await closed
    expect((await post(pool)).error).toMatchObject({ code: 'UND_ERR_CLOSED' })
  })
})
