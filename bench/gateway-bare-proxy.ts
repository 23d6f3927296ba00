// The practical limit of `pnpm bench gateway`: node:http + undici, no routing, no parsing. Forwards every request
// body to one upstream's /v1/chat/completions and writes the answer back: whole (default), or with `stream` as the
// second argument, piece by piece as the upstream's body arrives (server-sent events). Sends its URL to the parent.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

const upstream = process.argv[2]!
const stream = process.argv[3] === 'stream'
const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 })

const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    pool
      .request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      })
      .then(async (answer) => {
        if (stream) {
          response.writeHead(answer.statusCode, {
            'content-type': String(answer.headers['content-type'] ?? 'text/event-stream'),
          })
          for await (const chunk of answer.body) response.write(chunk)
          response.end()
          return
        }
        const body = Buffer.from(await answer.body.arrayBuffer())
        response.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': body.length })
        response.end(body)
      })
      .catch(() => {
        if (response.headersSent) response.destroy()
        else response.writeHead(502).end()
      })
  })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => process.send?.(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
process.on('disconnect', () => process.exit(0))
