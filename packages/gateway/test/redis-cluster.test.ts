/**
 * Two gateways on a Redis Cluster of the test's own (three masters, `redis+cluster://`): limits hold in total at the
 * upstream, and breakers and cooldowns are shared, as on one Redis.
 */
import { createMockUpstream, type MockUpstream, type RedisClusterProcesses, startRedisCluster } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { writeConfiguration } from './helpers'

let upstream: MockUpstream
let cluster: RedisClusterProcesses
let gateways: Gateway[] = []

function configuration(): string {
  return writeConfiguration(
    {
      '_registry.toml': '[pools]\np = { file = "pools/p.toml" }\n[task_groups]\ng = { file = "task-groups/g.toml" }\n',
      'pools/p.toml':
        '[pool]\nname = "p"\ntask_groups = ["g"]\n[pool.rate_limiting]\nenabled = true\nalgorithm = "fixed_window"\n[pool.rate_limiting.fixed_window]\nwindow_size = 60\nmax_requests = 1000\n',
      'task-groups/g.toml': `[task_group]
name = "g"
[task_group.circuit_breaker]
failure_threshold = 2
recovery_time = 30
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.main]
models = ["openai:limited", "openai:other"]
concurrency_limit = 2
rpm_limit = 1000
max_retries = 0
timeout = 10
api_key = "sk-test"
base_url = "\${MOCK_URL}/v1"
`,
    },
    'cluster',
  )
}

beforeAll(async () => {
  upstream = await createMockUpstream({ recordBodies: false })
  cluster = await startRedisCluster()
  const config = configuration()
  const prefix = `cluster-${process.pid}-${Date.now()}`
  gateways = await Promise.all(
    [0, 1].map(() =>
      startGateway({
        config,
        env: { MOCK_URL: upstream.url },
        redis: cluster.url,
        redisPrefix: prefix,
        router: { healthChecks: false },
      }),
    ),
  )
}, 60_000)
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()))
  await upstream?.close()
  await cluster?.stop()
})

const ask = (gateway: Gateway, content: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'p', messages: [{ role: 'user', content }] }),
  })

test('two gateways on a Redis Cluster: concurrency_limit 2 per instance holds in total at the upstream', {
  timeout: 60_000,
}, async () => {
  upstream.setFaults('limited', { latencyMs: 100 })
  upstream.setFaults('other', { latencyMs: 100 })
  const statuses = await Promise.all(
    Array.from({ length: 24 }, (_, index) =>
      ask(gateways[index % 2]!, `c${index}`).then((response) => response.status),
    ),
  )
  expect(statuses.every((status) => status === 200)).toBe(true)
  for (const model of ['limited', 'other']) expect(upstream.stats().models[model]!.maxInFlight).toBeLessThanOrEqual(2)
  expect(upstream.stats().arrivals).toBe(24)
})

test('on the cluster, a 429 in one gateway rests the instance in both, and a breaker that opens in one is open in both', {
  timeout: 60_000,
}, async () => {
  upstream.clearFaults()
  upstream.setFaults('limited', { status: 429, retryAfter: 30 })
  for (let index = 0; index < 2; index++) expect((await ask(gateways[0]!, `r${index}`)).status).toBe(200)
  const state = async (gateway: Gateway) =>
    (await gateway.router.state()).instances.find((instance) => instance.key === 'g.main/openai:limited')!
  await vi.waitFor(
    async () => expect((await state(gateways[1]!)).cooldown).toMatchObject({ kind: 'rate_limit', remote: true }),
    { timeout: 5_000, interval: 50 },
  )
  upstream.setFaults('other', { status: 500 })
  for (let index = 0; index < 3; index++) await ask(gateways[0]!, `b${index}`)
  await vi.waitFor(
    async () =>
      expect(
        (await gateways[1]!.router.state()).instances.find((instance) => instance.key === 'g.main/openai:other')!
          .breaker.state,
      ).toBe('open'),
    {
      timeout: 5_000,
      interval: 50,
    },
  )
})
