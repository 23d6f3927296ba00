/**
 * `endWhole`: a whole answer leaves in one socket write (not writev), and stays correct when the socket cannot take it
 * at once, for HEAD, and when the socket was corked by someone else.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { endWhole } from '../src/end-whole'
import { messageReader } from './helpers'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/** A server answering every request with `body` through endWhole; counts the writes each connection's socket made. */
async function serve(body: (request: IncomingMessage) => string, before?: (response: ServerResponse) => void) {
  const writes = new Map<Socket, { write: number; writev: number }>()
  const finished: string[] = []
  const server = createServer((request, response) => {
    const socket = request.socket
    if (!writes.has(socket)) {
      const counts = { write: 0, writev: 0 }
      writes.set(socket, counts)
      const internals = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>
      const write = internals._write.bind(socket)
      const writev = internals._writev.bind(socket)
      internals._write = (...args) => {
        counts.write++
        write(...args)
      }
      internals._writev = (...args) => {
        counts.writev++
        writev(...args)
      }
    }
    request.resume()
    request.on('end', () => {
      const text = body(request)
      response.on('finish', () => finished.push(request.url!))
      response.writeHead(200, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))])
      before?.(response)
      endWhole(response, text)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, writes, finished }
}

/**
 * Sends raw requests on one connection, each after the answer to the one before, and reads the answers
 * (content-length framed; heads only for HEAD).
 */
function exchange(port: number, requests: string[], pauseMs = 0) {
  return new Promise<{ heads: string[]; bodies: string[] }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const heads: string[] = []
    const bodies: string[] = []
    socket.on('error', reject)
    if (pauseMs > 0) {
      socket.pause()
      setTimeout(() => socket.resume(), pauseMs)
    }
    socket.on(
      'data',
      messageReader(
        (head, body) => {
          heads.push(head)
          bodies.push(body)
          if (heads.length < requests.length) return void socket.write(requests[heads.length]!)
          socket.end()
          resolve({ heads, bodies })
        },
        (index) => requests[index]!.startsWith('HEAD'),
      ),
    )
    socket.write(requests[0]!)
  })
}

const get = (path: string, method = 'GET') => `${method} ${path} HTTP/1.1\r\nhost: test\r\n\r\n`

test('head and body leave in one write, on every answer of a kept-alive connection', async () => {
  const { port, writes, finished } = await serve((request) => JSON.stringify({ path: request.url, text: 'héllo' }))
  const { heads, bodies } = await exchange(port, [get('/one'), get('/two'), get('/three')])
  expect(heads.map((head) => head.split('\r\n')[0])).toEqual(Array(3).fill('HTTP/1.1 200 OK'))
  expect(heads.every((head) => /connection: keep-alive/i.test(head))).toBe(true)
  expect(bodies.map((body) => JSON.parse(body))).toEqual(
    ['/one', '/two', '/three'].map((path) => ({ path, text: 'héllo' })),
  )
  expect([...writes.values()]).toEqual([{ write: 3, writev: 0 }])
  expect(finished).toEqual(['/one', '/two', '/three'])
})

test('an answer the socket cannot take at once arrives whole once the client reads, and the next one after it', async () => {
  const big = 'x'.repeat(8 * 1024 * 1024)
  const { port, finished } = await serve((request) => (request.url === '/big' ? big : 'small'))
  const { bodies } = await exchange(port, [get('/big'), get('/small')], 200)
  expect(bodies[0]!.length).toBe(big.length)
  expect(bodies[0] === big).toBe(true)
  expect(bodies[1]).toBe('small')
  expect(finished).toEqual(['/big', '/small'])
})

test('HEAD sends the head only, and the connection serves the next request', async () => {
  const { port } = await serve(() => '{"ok":true}')
  const { heads, bodies } = await exchange(port, [get('/h', 'HEAD'), get('/g')])
  expect(heads[0]).toMatch(/^HTTP\/1.1 200 OK[\s\S]*content-length: 11/i)
  expect(bodies).toEqual(['', '{"ok":true}'])
})

test('a socket corked by someone else takes the ordinary path and the answer is still whole', async () => {
  const { port, finished } = await serve(
    () => '{"corked":true}',
    (response) => {
      response.socket!.cork()
      setTimeout(() => response.socket!.uncork(), 20)
    },
  )
  const { bodies } = await exchange(port, [get('/c')])
  expect(bodies).toEqual(['{"corked":true}'])
  expect(finished).toEqual(['/c'])
})
