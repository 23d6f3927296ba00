import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** sha256, so that comparing in constant time works whatever the lengths. */
const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * A custom auth hook: each team has its own token (`team-a:token-a,team-b:token-b`), instead of the gateway's one
 * shared `LLMPOOL_GATEWAY_TOKEN`. The team found is set on the request, for your own logging or quotas.
 */
export function teamAuth(spec: string): (request: IncomingMessage) => boolean {
  const teams = spec
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair, index) => {
      const colon = pair.indexOf(':')
      // The entry is not echoed: it may be a token.
      if (colon <= 0 || colon === pair.length - 1)
        throw new Error(`team tokens are "team:token" pairs separated by commas; entry ${index + 1} is not one`)
      return { team: pair.slice(0, colon), token: digest(pair.slice(colon + 1)) }
    })
  return (request) => {
    const match = /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')
    if (!match) return false
    const given = digest(match[1]!)
    // Every token is compared, so the time taken does not tell which team's token came closest.
    let found: string | undefined
    for (const { team, token } of teams) if (timingSafeEqual(given, token)) found = team
    if (found === undefined) return false
    ;(request as IncomingMessage & { team?: string }).team = found
    return true
  }
}
