/**
 * Gateways and a Redis of the test's own under faults, over real HTTP against the mock upstream: Redis down (fail-
 * closed and fail-open), a crashed gateway's permits coming back to the others, half-open trials shared across
 * gateways, a cooldown shared across gateways.
 */
import { type ChildProcess, fork } from 'node:child_process'
import path from 'node:path'
import { createMockUpstream, type MockUpstream, type RedisServer, startRedisServer } from '@llmpool/testing'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { writeConfiguration } from './helpers'

const MAIN = path.join(import.meta.dirname, '..', 'src', 'bin.ts')
let upstream: MockUpstream
let redis: RedisServer
const gateways: Gateway[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  upstream = await createMockUpstream({ recordBodies: false })
  redis = await startRedisServer()
})
afterAll(async () => {
  await upstream.close()
  await redis.stop()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()))
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** A configuration with one task group `g` (models a, b) and a wrapper `w`; `echelon` adds to its echelon. */
function configuration(echelon: string, group = '', models = '"openai:model-a", "openai:model-b"'): string {
  return writeConfiguration(
    {
      '_registry.toml':
        '[task_groups]\ng = { file = "task-groups/g.toml" }\n[wrappers]\nw = { file = "wrappers/w.toml" }\n',
      'task-groups/g.toml': `[task_group]\nname = "g"\n${group}\n[task_group.fallback]\nmax_attempts = 2\nretry_delay = 0\n[task_group.echelons.main]\nmodels = [${models}]\nmax_retries = 0\ntimeout = 10\napi_key = "sk-test"\nbase_url = "\${MOCK_URL}/v1"\n${echelon}\n`,
      'wrappers/w.toml':
        '[wrappers]\nw_wrapper = { type = "task_group", task_group_name = "g" }\n[global]\nrequest_timeout = 15\n',
    },
    'redis-faults',
  )
}

async function gateway(
  config: string,
  prefix: string,
  options: Partial<Parameters<typeof startGateway>[0]> = {},
): Promise<Gateway> {
  const started = await startGateway({
    config,
    env: { MOCK_URL: upstream.url },
    redis: redis.url,
    redisPrefix: prefix,
    router: { healthChecks: false },
    ...options,
  })
  gateways.push(started)
  return started
}

function gatewayProcess(
  config: string,
  prefix: string,
  extra: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(
    MAIN,
    ['--config', config, '--port', '0', '--redis', redis.url, '--redis-prefix', prefix, ...extra],
    {
      execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
      env: { ...process.env, MOCK_URL: upstream.url, INIT_CWD: process.cwd() },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ url: (message as { url: string }).url, child }))
    child.once('exit', (code) => reject(new Error(`a gateway exited with ${code}`)))
  })
}

const ask = (url: string, content = 'hi') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'w_wrapper', messages: [{ role: 'user', content }] }),
  })

const prefixOf = (name: string) => `redis-faults-${name}-${process.pid}-${Date.now()}`

/** A logger that keeps every line, as `{ level, ...fields, msg }`. */
function logCollector() {
  const lines: Record<string, unknown>[] = []
  const at =
    (level: string) =>
    (object: object, msg?: string): void =>
      void lines.push({ level, ...object, msg })
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
}

describe('Redis down', () => {
  test('fail-closed: 503 limits_unavailable with retry-after, nothing sent upstream; back within a second of Redis returning', {
    timeout: 30_000,
  }, async () => {
    const log = logCollector()
    const served = await gateway(configuration('concurrency_limit = 5\nrpm_limit = 1000'), prefixOf('closed'), {
      logger: log.logger,
    })
    expect((await ask(served.url)).status).toBe(200)
    await redis.kill()
    try {
      const arrivals = upstream.stats().arrivals
      for (let index = 0; index < 3; index++) {
        const response = await ask(served.url)
        expect(response.status).toBe(503)
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('limits_unavailable')
      }
      expect(upstream.stats().arrivals).toBe(arrivals)
    } finally {
      await redis.restart()
    }
    const back = Date.now()
    await vi.waitFor(async () => expect((await ask(served.url)).status).toBe(200), { timeout: 5_000, interval: 50 })
    expect(Date.now() - back).toBeLessThan(1_500)
    // The operator reads both in the log: once each, the outage at warn.
    const said = log.lines.filter((line) => line.event === 'redis_unavailable' || line.event === 'redis_recovered')
    expect(said).toEqual([
      expect.objectContaining({ level: 'warn', event: 'redis_unavailable', policy: 'fail-closed' }),
      expect.objectContaining({ level: 'info', event: 'redis_recovered', downtimeMs: expect.any(Number) }),
    ])
    expect(String(said[0]!.msg)).toMatch(/Redis is unreachable/)
  })

  test('a --redis nobody answers on is in the log at start, before any request meets it', async () => {
    const log = logCollector()
    const served = await gateway(configuration('rpm_limit = 1000'), prefixOf('nobody'), {
      redis: 'redis://:s3cret-password@127.0.0.1:1',
      logger: log.logger,
    })
    await vi.waitFor(
      () => expect(log.lines.some((line) => line.level === 'warn' && line.event === 'redis_unavailable')).toBe(true),
      { timeout: 10_000, interval: 50 },
    )
    // The breakers' and cooldowns' sharing say it too, in the same log (not as process warnings).
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', event: 'redis_error', sharing: 'breaker state' }),
    )
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', event: 'redis_error', sharing: 'cooldown' }),
    )
    expect(JSON.stringify(log.lines)).not.toContain('s3cret-password')
    expect((await ask(served.url)).status).toBe(503)
  })

  test("fallback-memory (the operator's choice): served during the outage", { timeout: 30_000 }, async () => {
    const served = await gateway(configuration('concurrency_limit = 5\nrpm_limit = 1000'), prefixOf('open'), {
      redisOnUnavailable: 'fallback-memory',
    })
    await redis.kill()
    try {
      expect((await ask(served.url)).status).toBe(200)
    } finally {
      await redis.restart()
    }
  })
})

test("a crashed gateway's permit comes back to the others within its lease ttl, and a waiting request is served then", {
  timeout: 30_000,
}, async () => {
  const config = configuration('concurrency_limit = 1', '', '"openai:model-a"')
  const prefix = prefixOf('crash')
  upstream.setFaults('model-a', { sequence: [{ hang: true }] })
  const crashing = await gatewayProcess(config, prefix, ['--redis-lease-ttl', '2000'])
  void ask(crashing.url, 'held').catch(() => undefined)
  await vi.waitFor(() => expect(upstream.stats().inFlight).toBe(1), { timeout: 10_000, interval: 20 })
  const other = await gateway(config, prefix)
  const waiting = ask(other.url, 'waiting')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const killed = Date.now()
  crashing.child.kill('SIGKILL')
  const response = await waiting
  expect(response.status).toBe(200)
  // The permit expired (ttl 2 s after its last renewal) and the waiting request had it at once.
  expect(Date.now() - killed).toBeLessThan(2_000 + 1_500)
})

test('half-open trials are shared: three gateways make one trial call in total, not three', {
  timeout: 30_000,
}, async () => {
  const config = configuration(
    '',
    '[task_group.circuit_breaker]\nfailure_threshold = 2\nrecovery_time = 1\nhalf_open_requests = 1',
    '"openai:model-a"',
  )
  const prefix = prefixOf('trials')
  const processes = await Promise.all([0, 1, 2].map(() => gatewayProcess(config, prefix)))
  upstream.setFaults('model-a', { status: 500 })
  // Open the breaker (shared): two failures.
  for (let index = 0; index < 2; index++) await ask(processes[0]!.url, `fail ${index}`)
  await vi.waitFor(async () => expect((await ask(processes[2]!.url, 'open?')).status).toBe(503), {
    timeout: 5_000,
    interval: 50,
  })
  // Recovering: the trial call is slow; every gateway is asked at once.
  upstream.setFaults('model-a', { latencyMs: 800 })
  upstream.reset()
  await new Promise((resolve) => setTimeout(resolve, 1_200))
  const responses = await Promise.all(
    processes.flatMap((process) => [0, 1].map((index) => ask(process.url, `trial ${index}`))),
  )
  const statuses = responses.map((response) => response.status)
  expect(statuses).toContain(200)
  // While the breaker was half-open (until the first trial answered and closed it), one call reached the upstream.
  const requests = upstream.requests({ model: 'model-a' })
  const firstAnswer = Math.min(...requests.map((request) => request.endedAt ?? Number.POSITIVE_INFINITY))
  expect(requests.filter((request) => request.arrivedAt < firstAnswer)).toHaveLength(1)
})

test("a cooldown is shared: one gateway's 429 rests the instance in every gateway", { timeout: 30_000 }, async () => {
  const config = configuration('')
  const prefix = prefixOf('cooldown')
  const [first, second] = await Promise.all([gateway(config, prefix), gateway(config, prefix)])
  upstream.setFaults('model-a', { status: 429, retryAfter: 30 })
  // Round robin starts at model-a in the first gateway: it rests, model-b answers.
  expect((await ask(first!.url, 'one')).status).toBe(200)
  expect(upstream.stats().models['model-a']?.arrivals).toBe(1)
  await vi.waitFor(
    async () => {
      const state = (await (await fetch(`${second!.url}/admin/state`)).json()) as {
        instances: { key: string; cooldown?: { remote: boolean } }[]
      }
      expect(state.instances.find((instance) => instance.key === 'g.main/openai:model-a')!.cooldown).toMatchObject({
        remote: true,
      })
    },
    { timeout: 3_000, interval: 50 },
  )
  for (let index = 0; index < 6; index++) expect((await ask(second!.url, `two ${index}`)).status).toBe(200)
  expect(upstream.stats().models['model-a']?.arrivals).toBe(1)
})
