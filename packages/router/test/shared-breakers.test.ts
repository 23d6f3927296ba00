/** Breakers shared across routers (as across processes) through Redis: a trip in one opens the others. */
import { createRedisBreakerGroup } from '@llmpool/breaker'
import { Redis } from 'ioredis'
import { afterAll, expect, test } from 'vitest'
import { Router } from '../src/index'
import { configFrom, httpError, mockProvider, prompt, registry } from './helpers'

const REDIS_URL = process.env.LLMPOOL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `llmpool-test:router-breakers:${process.pid}:${Date.now()}`
const clients: Redis[] = []

afterAll(async () => {
  const cleanup = new Redis(REDIS_URL)
  const keys = await cleanup.keys(`${prefix}*`)
  if (keys.length > 0) await cleanup.del(...keys)
  await cleanup.quit()
  await Promise.all(clients.map((client) => client.quit()))
})

test('an instance tripped in one router is open in another within a second', async () => {
  const config = await configFrom({
    '_registry.toml': registry([], ['g']),
    'task-groups/g.toml': `
[task_group]
name = "g"
[task_group.circuit_breaker]
failure_threshold = 2
recovery_time = 60
[task_group.fallback]
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
`,
  })
  const routers = await Promise.all(
    [0, 1].map(async () => {
      const client = new Redis(REDIS_URL)
      clients.push(client)
      const group = await createRedisBreakerGroup({ redis: client, keyPrefix: prefix })
      const mock = mockProvider({
        a: () => {
          throw httpError(500)
        },
      })
      const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false, breakers: group })
      return { router, group, mock }
    }),
  )
  const [first, second] = routers as [(typeof routers)[0], (typeof routers)[0]]
  const opened = new Promise<number>((resolve) => {
    const started = Date.now()
    second.router.on((event) => {
      if (event.type === 'breaker_change' && event.instance === 'g.e1/mock:a' && event.to === 'open')
        resolve(Date.now() - started)
    })
  })
  // Only the first router sees mock:a fail.
  for (let i = 0; i < 4; i++) await first.router.generate('g', prompt)
  const elapsed = await opened
  expect(elapsed).toBeLessThan(1_000)
  // The second router never calls mock:a now.
  for (let i = 0; i < 4; i++) expect((await second.router.generate('g', prompt)).routing.instance).toBe('g.e1/mock:b')
  expect(second.mock.calls.filter((call) => call.model === 'a')).toHaveLength(0)
  for (const { router, group } of routers) {
    await router.dispose()
    await group.dispose()
  }
})
