import type { ServerResponse } from 'node:http'
import type { Clock } from '@llmpool/schema'

/** A streamed answer: events before the content, one event per content chunk, and the closing events. */
export interface StreamEvents {
  head: string[]
  pieces: string[]
  tail: string[]
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

/** Sends a whole JSON (or text) body. */
export function sendBody(
  response: ServerResponse,
  status: number,
  body: string,
  headers?: Readonly<Record<string, string | number>>,
  contentType = 'application/json',
): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers })
  response.end(body)
}

/** Sends the headers and the first half of a body, then destroys the socket: a connection cut mid-answer. */
export function sendCutBody(response: ServerResponse, body: string, onCut: () => void): void {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  response.write(body.slice(0, Math.floor(body.length / 2)), () => {
    onCut()
    response.destroy()
  })
}

export interface StreamOptions {
  /** Delay between content chunks (and before the closing events). */
  chunkDelayMs: number
  /** Destroys the socket after this many content chunks. */
  cutAfterChunks: number | undefined
  clock: Clock
  /** Called just before a deliberate cut, so that the request is recorded as failed rather than aborted. */
  onCut: () => void
  headers?: Readonly<Record<string, string | number>>
}

/** Streams server-sent events, with optional delays between chunks and an optional cut. */
export function sendStream(response: ServerResponse, events: StreamEvents, options: StreamOptions): void {
  response.writeHead(200, options.headers ? { ...SSE_HEADERS, ...options.headers } : SSE_HEADERS)
  const { chunkDelayMs, cutAfterChunks, clock } = options
  const cut = () => {
    options.onCut()
    response.destroy()
  }
  if (chunkDelayMs <= 0) {
    if (cutAfterChunks === undefined) {
      response.end(events.head.join('') + events.pieces.join('') + events.tail.join(''))
      return
    }
    // Wait until the kept chunks are handed to the kernel, so that the client receives them before the cut.
    response.write(events.head.join('') + events.pieces.slice(0, cutAfterChunks).join(''), cut)
    return
  }
  response.write(events.head.join(''))
  let next = 0
  let timer: unknown
  response.once('close', () => clock.clearTimeout(timer))
  const step = () => {
    if (response.destroyed) return
    if (cutAfterChunks !== undefined && next >= cutAfterChunks) {
      cut()
      return
    }
    const piece = events.pieces[next++]
    if (piece === undefined) {
      response.end(events.tail.join(''))
      return
    }
    if (cutAfterChunks !== undefined && next >= cutAfterChunks) {
      response.write(piece, cut)
      return
    }
    response.write(piece)
    timer = clock.setTimeout(step, chunkDelayMs)
  }
  timer = clock.setTimeout(step, chunkDelayMs)
}
