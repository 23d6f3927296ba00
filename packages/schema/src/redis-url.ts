/** One node of a Redis Cluster URL. */
export interface ClusterNode {
  host: string
  port: number
}

/**
 * A Redis URL as the Redis backends of `@llmpool/limiter` and `@llmpool/breaker` read it (here, in the shared base,
 * so that the two siblings parse alike).
 */
export type ParsedRedisUrl =
  /** `redis://…`, `rediss://…` or anything else ioredis reads itself. */
  | { cluster: false; url: string }
  /** `redis+cluster://` or `rediss+cluster://` (TLS): seed nodes and the credentials every node shares. */
  | { cluster: true; nodes: ClusterNode[]; username: string | undefined; password: string | undefined; tls: boolean }

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i

/** True for `redis+cluster://…` and `rediss+cluster://…`. */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url)
}

/** The URL with its password replaced, for error messages. */
function redacted(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@')
}

/**
 * Reads `redis+cluster://[user:password@]host:port[,host:port…][/]` (or `rediss+cluster://` for TLS): the nodes to
 * discover the cluster from (a port defaults to 6379; IPv6 hosts in brackets) and the credentials, percent-decoded.
 * Other URLs are left to ioredis. A malformed cluster URL throws a `RangeError` that does not show the password.
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const scheme = CLUSTER_SCHEME.exec(url)
  if (!scheme) return { cluster: false, url }
  const fail = (why: string): never => {
    throw new RangeError(
      `${why} in the Redis Cluster URL ${JSON.stringify(redacted(url))}; expected redis+cluster://[user:password@]host:port[,host:port…]`,
    )
  }
  let rest = url.slice(scheme[0].length)
  const end = rest.search(/[/?#]/)
  if (end !== -1) {
    const tail = rest.slice(end)
    // A cluster has database 0 only; options go in code, not in the URL.
    if (tail !== '/' && tail !== '/0') fail(`unsupported "${tail.replace(/[?#].*/, '?…')}"`)
    rest = rest.slice(0, end)
  }
  let username: string | undefined
  let password: string | undefined
  const at = rest.lastIndexOf('@')
  if (at !== -1) {
    const credentials = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = credentials.indexOf(':')
    try {
      username = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon)) || undefined
      password = colon === -1 ? undefined : decodeURIComponent(credentials.slice(colon + 1)) || undefined
    } catch {
      fail('bad percent-encoding in the credentials')
    }
  }
  const nodes = rest.split(',').map((hostPort): ClusterNode => {
    if (hostPort === '') fail('an empty host')
    let parsed: URL
    try {
      parsed = new URL(`redis://${hostPort}`)
    } catch {
      return fail(`a bad host "${hostPort}"`)
    }
    if (parsed.username || parsed.password || parsed.pathname !== '' || parsed.hostname === '')
      fail(`a bad host "${hostPort}"`)
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port === '' ? 6379 : Number(parsed.port) }
  })
  return { cluster: true, nodes, username, password, tls: scheme[1]!.toLowerCase() === 'rediss' }
}
