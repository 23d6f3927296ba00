/**
 * Three gateway processes on one Redis and one mock upstream: the task group's concurrency_limit (3) and rpm_limit
 * (30) hold in total, measured where it matters — at the upstream.
 */
import { type ChildProcess, fork } from 'node:child_process'
import path from 'node:path'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `llmpool-gateway-test-${process.pid}-${Date.now()}`
const main = path.join(import.meta.dirname, '..', 'src', 'bin.ts')
const config = path.join(import.meta.dirname, 'fixtures', 'distributed')

async function redisReachable(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}
const reachable = await redisReachable()

let upstream: MockUpstream
const children: ChildProcess[] = []
const urls: string[] = []

function startGatewayProcess(): Promise<string> {
  const child = fork(
    main,
    ['--config', config, '--port', '0', '--redis', REDIS_URL, '--redis-prefix', prefix, '--timeout-ms', '1500'],
    {
      execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
      env: { ...process.env, MOCK_URL: upstream.url, INIT_CWD: process.cwd() },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url))
    child.once('exit', (code) => reject(new Error(`the gateway process exited with ${code}`)))
  })
}

// CI starts Redis (.ci/run): an unreachable Redis is a failure here, never a silent skip.
describe(`three gateway processes on one Redis (${REDIS_URL})`, () => {
  test('Redis answers', () => {
    expect(reachable, `no Redis at ${REDIS_URL}: start one (see .ci/run)`).toBe(true)
  })

  beforeAll(async () => {
    upstream = await createMockUpstream({ recordBodies: false })
    upstream.setFaults('limited-model', { latencyMs: 150 })
    urls.push(...(await Promise.all([startGatewayProcess(), startGatewayProcess(), startGatewayProcess()])))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGTERM')
          }),
      ),
    )
    await upstream?.close()
    const redis = new Redis(REDIS_URL)
    const keys = await redis.keys(`{${prefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  test('concurrency_limit 3 and rpm_limit 30 hold in total at the upstream', async () => {
    const statuses = new Map<number, number>()
    const answeredBy = urls.map(() => 0)
    const until = Date.now() + 4_000
    const loop = async (index: number) => {
      while (Date.now() < until) {
        const response = await fetch(`${urls[index]}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'limited_group', messages: [{ role: 'user', content: 'hi' }] }),
        })
        await response.arrayBuffer()
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        answeredBy[index]!++
        if (response.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    // 8 concurrent clients per gateway, 24 in all, against a limit of 3 at once.
    await Promise.all(urls.flatMap((_, index) => Array.from({ length: 8 }, () => loop(index))))
    await upstream.whenIdle()
    const stats = upstream.stats().models['limited-model']!
    expect(stats.maxInFlight).toBeLessThanOrEqual(3)
    expect(stats.arrivals).toBeLessThanOrEqual(30)
    expect(stats.arrivals).toBeGreaterThanOrEqual(10) // traffic did flow
    expect(stats.lastArrivalAt! - stats.firstArrivalAt!).toBeLessThan(60_000)
    expect(statuses.get(200)).toBe(stats.completed)
    expect([...statuses.keys()].every((status) => status === 200 || status === 429 || status === 504)).toBe(true)
    expect(statuses.get(429) ?? 0).toBeGreaterThan(0)
    expect(answeredBy.every((count) => count > 0)).toBe(true) // all three gateways were hammered
  })
})
