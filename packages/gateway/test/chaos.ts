/**
 * Chaos: three gateway processes on one Redis of their own and one mock upstream, under mixed good traffic and
 * hostile requests, while a gateway is killed with SIGKILL (and replaced), Redis is killed and restarted, and the
 * configuration is rewritten over and over with truncated writes. Judged by what clients got and what the upstream
 * saw. `chaos.test.ts` runs a short version in `pnpm test`; `pnpm chaos` a longer one.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  createMockUpstream,
  type MockUpstream,
  type RecordedRequest,
  type RedisServer,
  startRedisServer,
} from '@llmpool/testing'
import { busiestWindow, writeConfiguration } from './helpers'

const MAIN = path.join(import.meta.dirname, '..', 'src', 'bin.ts')
const CONCURRENCY_LIMIT = 4
const RPM_LIMIT = 400
const LEASE_TTL_MS = 2_000

const REGISTRY = `[registry]
version = "1.0.0"
[pools]
chaos_pool = { file = "pools/chaos-pool.toml" }
[task_groups]
chaos_group = { file = "task-groups/chaos-group.toml" }
[wrappers]
chaos_wrappers = { file = "wrappers/chaos-wrappers.toml" }
[global]
enable_hot_reload = true
`

function configuration(): string {
  return writeConfiguration(
    {
      '_registry.toml': REGISTRY,
      'pools/chaos-pool.toml':
        '[pool]\nname = "chaos_pool"\ntask_groups = ["chaos_group"]\n[pool.fallback]\nmax_instance_attempts = 3\n',
      'task-groups/chaos-group.toml': `[task_group]
name = "chaos_group"
[task_group.circuit_breaker]
failure_threshold = 3
recovery_time = 2
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.main]
models = ["openai:steady-a", "openai:steady-b"]
concurrency_limit = ${CONCURRENCY_LIMIT}
rpm_limit = ${RPM_LIMIT}
timeout = 2
max_retries = 0
api_key = "sk-chaos-test-key"
base_url = "\${MOCK_URL}/v1"
[task_group.echelons.backup]
models = ["openai:flaky"]
concurrency_limit = ${CONCURRENCY_LIMIT}
rpm_limit = ${RPM_LIMIT}
timeout = 2
max_retries = 0
api_key = "sk-chaos-test-key"
base_url = "\${MOCK_URL}/v1"
`,
      'wrappers/chaos-wrappers.toml':
        '[wrappers]\nchaos_wrapper = { type = "pool", pool_name = "chaos_pool" }\n[global]\nrequest_timeout = 4\n',
    },
    'chaos',
  )
}

interface GatewayProcess {
  url: string
  child: ChildProcess
  alive: boolean
  stderr: string[]
}

function startGateway(
  directory: string,
  redis: RedisServer,
  upstream: MockUpstream,
  prefix: string,
): Promise<GatewayProcess> {
  const child = fork(
    MAIN,
    [
      '--config',
      directory,
      '--port',
      '0',
      '--redis',
      redis.url,
      '--redis-prefix',
      prefix,
      '--redis-lease-ttl',
      String(LEASE_TTL_MS),
      '--watch',
    ],
    {
      execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
      env: { ...process.env, MOCK_URL: upstream.url, INIT_CWD: process.cwd() },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  )
  const stderr: string[] = []
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(String(chunk)))
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ url: (message as { url: string }).url, child, alive: true, stderr }))
    child.once('exit', (code) => reject(new Error(`a gateway exited with ${code}: ${stderr.join('')}`)))
  })
}

/** What a client got for one request. */
interface Outcome {
  kind: 'good' | 'hostile'
  status: number | 'network'
  retryAfter: boolean
  gateway: number
  /** The gateway was killed while this request was in flight. */
  killed: boolean
  at: number
}

const HOSTILE = [
  JSON.stringify({
    model: 'chaos_wrapper',
    stream: true,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:text/plain;base64,${Buffer.from('x').toString('base64')}` } },
        ],
      },
    ],
  }),
  `{"model":"chaos_wrapper","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(200)}${']'.repeat(200)}}`,
  '{"model":"gpt-4-very-expensive","messages":[{"role":"user","content":"hi"}],"model":"chaos_wrapper"}',
  JSON.stringify({
    model: 'chaos_wrapper',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,%E0%A4%A' } }] }],
  }),
]

/** The most requests in flight at once in `requests`, leaving out those that began inside `excluded` spans. */
function maxInFlight(requests: RecordedRequest[], excluded: [number, number][]): number {
  const points: [number, number][] = []
  for (const request of requests) {
    if (excluded.some(([from, to]) => request.arrivedAt >= from && request.arrivedAt <= to)) continue
    points.push([request.arrivedAt, 1], [request.endedAt ?? Number.POSITIVE_INFINITY, -1])
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let current = 0
  let most = 0
  for (const [, change] of points) most = Math.max(most, (current += change))
  return most
}

export interface ChaosReport {
  good: { total: number; answered: number; refusedRetryable: number; lostWithKilledGateway: number; other: Outcome[] }
  hostile: { total: number; refused4xx: number; other: Outcome[] }
  upstream: Record<string, { arrivals: number; failed: number; maxInFlight: number; busiestMinute: number }>
  breakerTrips: Record<string, number>
  redisOutageMs: number
  reloads: { writes: number; applied: number; rejected: number }
  durationMs: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runChaos(options: {
  seconds: number
  clientsPerGateway?: number
  log?: (line: string) => void
}): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined)
  const totalMs = options.seconds * 1000
  const redis = await startRedisServer()
  const upstream = await createMockUpstream({ recordBodies: false, maxRecordedRequests: 200_000 })
  upstream.setFaults('steady-a', { latencyMs: 20, jitterMs: 40 })
  upstream.setFaults('steady-b', { latencyMs: 20, jitterMs: 40 })
  upstream.setFaults('flaky', [
    { status: 500, rate: 0.3 },
    { latencyMs: 20, jitterMs: 40 },
  ])
  const directory = configuration()
  const prefix = `chaos-${process.pid}-${Date.now()}`
  const gateways: GatewayProcess[] = await Promise.all(
    [0, 1, 2].map(() => startGateway(directory, redis, upstream, prefix)),
  )
  const outcomes: Outcome[] = []
  const started = Date.now()
  let stop = false
  let redisDown: [number, number] = [0, 0]
  const reloads = { writes: 0, applied: 0, rejected: 0 }

  const send = async (kind: Outcome['kind'], index: number, body: string) => {
    const gateway = gateways[index]!
    const at = Date.now()
    try {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await response.arrayBuffer()
      outcomes.push({
        kind,
        status: response.status,
        retryAfter: response.headers.has('retry-after'),
        gateway: index,
        killed: !gateway.alive,
        at,
      })
    } catch {
      outcomes.push({ kind, status: 'network', retryAfter: false, gateway: index, killed: !gateway.alive, at })
      await sleep(20)
    }
  }
  const goodClient = async (index: number, client: number) => {
    for (let count = 0; !stop; count++) {
      await send(
        'good',
        index,
        JSON.stringify({
          model: 'chaos_wrapper',
          messages: [{ role: 'user', content: `client ${index}.${client} request ${count}` }],
        }),
      )
      const last = outcomes[outcomes.length - 1]
      if (last && last.status !== 200) await sleep(50)
    }
  }
  const hostileClient = async () => {
    for (let count = 0; !stop; count++) {
      await send('hostile', count % 3, HOSTILE[count % HOSTILE.length]!)
      await sleep(25)
    }
  }
  const clients = gateways.flatMap((_, index) =>
    Array.from({ length: options.clientsPerGateway ?? 4 }, (_, client) => goodClient(index, client)),
  )
  clients.push(hostileClient(), hostileClient())

  const at = (fraction: number) => sleep(Math.max(0, started + fraction * totalMs - Date.now()))
  const script = (async () => {
    // A reload storm: the registry truncated (as an editor or cp mid-write would leave it), then written back.
    const storm = (async () => {
      await at(0.15)
      for (let round = 0; Date.now() < started + 0.85 * totalMs; round++) {
        writeFileSync(
          path.join(directory, '_registry.toml'),
          round % 3 === 0 ? '' : REGISTRY.slice(0, REGISTRY.length / 2),
        )
        reloads.writes++
        await sleep(round % 4 === 0 ? 400 : 40)
        writeFileSync(path.join(directory, '_registry.toml'), `${REGISTRY}# round ${round}\n`)
        reloads.writes++
        await sleep(300)
      }
    })()
    await at(0.25)
    log('kill -9 of gateway 2')
    gateways[2]!.alive = false
    gateways[2]!.child.kill('SIGKILL')
    await at(0.35)
    gateways[2] = await startGateway(directory, redis, upstream, prefix)
    log('gateway 2 replaced')
    await at(0.5)
    log('Redis killed')
    await redis.kill()
    redisDown = [Date.now(), 0]
    await at(0.6)
    await redis.restart()
    redisDown[1] = Date.now()
    log('Redis restarted')
    await storm
    await at(1)
    stop = true
  })()
  await script
  await Promise.all(clients)
  await upstream.whenIdle()
  const durationMs = Date.now() - started

  // Breaker trips, from every gateway still running (shared breakers: each saw every opening).
  const breakerTrips: Record<string, number> = {}
  for (const gateway of gateways.filter((candidate) => candidate.alive)) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    for (const match of text.matchAll(
      /^llmpool_breaker_trips_total\{scope="instance",llm_instance="([^"]+)"\} (\d+)$/gm,
    )) {
      breakerTrips[match[1]!] = Math.max(breakerTrips[match[1]!] ?? 0, Number(match[2]))
    }
    for (const line of gateway.stderr.join('').split('\n')) {
      if (line.includes('configuration reloaded')) reloads.applied++
      if (line.includes('configuration reload rejected')) reloads.rejected++
    }
  }

  // The limits are exact outside the moments Redis forgot its counts: from its restart until the processes
  // have registered their leases again (a third of the lease ttl) and a margin.
  const forgotten: [number, number][] = [[redisDown[0], redisDown[1] + LEASE_TTL_MS / 3 + 1_000]]
  const upstreamFigures: ChaosReport['upstream'] = {}
  for (const model of ['steady-a', 'steady-b', 'flaky']) {
    const requests = upstream.requests({ model })
    const stats = upstream.stats().models[model]
    const before = requests.filter((request) => request.arrivedAt < redisDown[0]).map((request) => request.arrivedAt)
    const after = requests.filter((request) => request.arrivedAt > redisDown[1]).map((request) => request.arrivedAt)
    upstreamFigures[model] = {
      arrivals: requests.length,
      failed: stats?.failed ?? 0,
      maxInFlight: maxInFlight(requests, forgotten),
      busiestMinute: Math.max(busiestWindow(before, 60_000), busiestWindow(after, 60_000)),
    }
  }
  const good = outcomes.filter((outcome) => outcome.kind === 'good')
  const hostile = outcomes.filter((outcome) => outcome.kind === 'hostile')
  const refusedRetryable = good.filter(
    (outcome) => (outcome.status === 429 || outcome.status === 503) && outcome.retryAfter,
  )
  const lost = good.filter((outcome) => outcome.status === 'network' && outcome.killed)
  const report: ChaosReport = {
    good: {
      total: good.length,
      answered: good.filter((outcome) => outcome.status === 200).length,
      refusedRetryable: refusedRetryable.length,
      lostWithKilledGateway: lost.length,
      other: good.filter(
        (outcome) => outcome.status !== 200 && !refusedRetryable.includes(outcome) && !lost.includes(outcome),
      ),
    },
    hostile: {
      total: hostile.length,
      refused4xx: hostile.filter(
        (outcome) => typeof outcome.status === 'number' && outcome.status >= 400 && outcome.status < 500,
      ).length,
      other: hostile.filter(
        (outcome) =>
          !(typeof outcome.status === 'number' && outcome.status >= 400 && outcome.status < 500) && !outcome.killed,
      ),
    },
    upstream: upstreamFigures,
    breakerTrips,
    redisOutageMs: redisDown[1] - redisDown[0],
    reloads,
    durationMs,
  }
  await Promise.all(
    gateways.map(
      (gateway) =>
        new Promise<void>((resolve) => {
          if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return resolve()
          gateway.child.once('exit', () => resolve())
          gateway.child.kill('SIGTERM')
        }),
    ),
  )
  await upstream.close()
  await redis.stop()
  return report
}

export const LIMITS = { concurrency: CONCURRENCY_LIMIT, rpm: RPM_LIMIT }
