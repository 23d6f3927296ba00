// The page's one connection to its data: a streamed fetch of `api/feed` (server-sent events framing), so that the
// token travels in the Authorization header — never in a URL, which EventSource would need.
import type { HelloMessage, TickMessage } from '../src/types'

const TOKEN_KEY = 'llmpool-dashboard-token'

/** The token the person typed, kept for this tab only (sessionStorage), never in the URL or the page. */
export const savedToken = {
  get: (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
}

export const authHeaders = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {}

export interface FeedHandlers {
  hello(message: HelloMessage): void
  tick(message: TickMessage): void
  /** The server wants a token (none, or a wrong one). The connection stops. */
  unauthorized(): void
  /** Connected, or lost and trying again. */
  status(status: 'live' | 'reconnecting'): void
}

/** Checks a token before keeping it: true when the data answers with it. */
export async function tokenWorks(token: string): Promise<boolean> {
  const response = await fetch('api/snapshot', { headers: authHeaders(token), cache: 'no-store' })
  void response.body?.cancel()
  return response.ok
}

/**
 * Reads the feed until `signal` aborts: on a lost connection (or 5 s of silence, when ticks come every second) it
 * tries again after 1, 2, then 5 s; a 401 ends it and asks for the token.
 */
export async function follow(token: string | undefined, handlers: FeedHandlers, signal: AbortSignal): Promise<void> {
  let failures = 0
  while (!signal.aborted) {
    const attempt = new AbortController()
    const stop = () => attempt.abort()
    signal.addEventListener('abort', stop)
    let watchdog: ReturnType<typeof setTimeout> | undefined
    const feed = () => {
      clearTimeout(watchdog)
      watchdog = setTimeout(() => attempt.abort(), 5_000)
    }
    try {
      feed()
      const response = await fetch('api/feed', {
        headers: { accept: 'text/event-stream', ...authHeaders(token) },
        cache: 'no-store',
        signal: attempt.signal,
      })
      if (response.status === 401) {
        handlers.unauthorized()
        return
      }
      if (!response.ok || !response.body) throw new Error(`feed answered ${response.status}`)
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        feed()
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const message = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf('\n\n')
          let event = 'message'
          let data = ''
          for (const line of message.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data += line.slice(6)
          }
          if (event === 'hello') {
            failures = 0
            handlers.status('live')
            handlers.hello(JSON.parse(data) as HelloMessage)
          } else if (event === 'tick') handlers.tick(JSON.parse(data) as TickMessage)
        }
      }
    } catch {
      // Lost: below, try again.
    } finally {
      clearTimeout(watchdog)
      signal.removeEventListener('abort', stop)
    }
    if (signal.aborted) return
    handlers.status('reconnecting')
    failures++
    await new Promise((resolve) => setTimeout(resolve, failures === 1 ? 1_000 : failures === 2 ? 2_000 : 5_000))
  }
}
