import type { ServerResponse } from 'node:http'

/**
 * Ends a response whose head is set (`writeHead`) with its whole body: head and body leave in one socket write.
 * Node's `end(body)`, and `write(body)` then `end()` alike, cork the socket and queue an empty piece behind the body,
 * so every answer went out through `writev` (an array of pieces, a request object, the dearer path of Node's streams).
 * Here `write` corks as before, the socket is uncorked at once (one piece: a plain write), and `end()` finds nothing
 * left to send. A socket someone else corked, or none, takes the ordinary path.
 */
export function endWhole(response: ServerResponse, body: string): void {
  const socket = response.socket
  if (socket === null || socket.writableCorked !== 0) {
    response.end(body)
    return
  }
  response.write(body)
  // write() corked the socket until the next tick, when Node would uncork it itself (then a no-op).
  socket.uncork()
  response.end()
}
