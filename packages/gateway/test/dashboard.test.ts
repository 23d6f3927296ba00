/** The dashboard mounted at /dashboard/: behind the gateway's token or authorize hook, off with `dashboard: false`. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startGateway } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())

const env = () => ({ MOCK_URL: upstream.url })

test('behind the token: data only with Authorization: Bearer; its URL on the gateway', async () => {
  const gateway = await startGateway({
    config: FIXTURE,
    env: env(),
    router: FAST_ROUTER,
    token: 'gateway-dashboard-token',
  })
  try {
    expect(gateway.dashboard).toBe(`${gateway.url}/dashboard/`)
    expect((await fetch(`${gateway.url}/dashboard/api/snapshot`)).status).toBe(401)
    const snapshot = await fetch(`${gateway.url}/dashboard/api/snapshot`, {
      headers: { authorization: 'Bearer gateway-dashboard-token' },
    })
    expect(snapshot.status).toBe(200)
    const body = (await snapshot.json()) as { instances: { key: string }[] }
    expect(body.instances.map((instance) => instance.key)).toContain('main_group.main/openai:model-a')
    // A person without the token gets the page that asks for it (not the API's JSON 401).
    const page = await fetch(`${gateway.url}/dashboard`)
    expect(page.status).toBe(401)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
  } finally {
    await gateway.close()
  }
})

test('the authorize hook decides for the dashboard too', async () => {
  const gateway = await startGateway({
    config: FIXTURE,
    env: env(),
    router: FAST_ROUTER,
    authorize: (request) => request.headers['x-team'] === 'ops',
  })
  try {
    expect((await fetch(`${gateway.url}/dashboard/api/snapshot`)).status).toBe(401)
    expect((await fetch(`${gateway.url}/dashboard/api/snapshot`, { headers: { 'x-team': 'ops' } })).status).toBe(200)
  } finally {
    await gateway.close()
  }
})

test('an open dashboard feed does not hold up the shutdown; dashboard: false serves none', async () => {
  const gateway = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER, shutdownTimeoutMs: 20_000 })
  const response = await fetch(`${gateway.url}/dashboard/api/feed`)
  const reader = response.body!.getReader()
  await reader.read()
  expect(gateway.inFlight()).toBe(0)
  const started = performance.now()
  await gateway.close()
  // Far below shutdownTimeoutMs: the feed was ended, not drained.
  expect(performance.now() - started).toBeLessThan(10_000)
  for (;;) if ((await reader.read()).done) break

  const without = await startGateway({ config: FIXTURE, env: env(), router: FAST_ROUTER, dashboard: false })
  try {
    expect(without.dashboard).toBeUndefined()
    expect((await fetch(`${without.url}/dashboard/`)).status).toBe(404)
  } finally {
    await without.close()
  }
})
