/** The handler over real HTTP: its routes, the token (header only), read-only, the live feed, close. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ConfigStore, createConfigStore } from '@llmpool/config'
import { Router } from '@llmpool/router'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { buildPage } from '../scripts/build-page.mjs'
import { type DashboardHandler, dashboardHandler, type HelloMessage } from '../src/index'
import { copyFixture, FIXTURE_INSTANCES, parseEvents } from './helpers'

const TOKEN = 'dashboard-test-token-0123456789'
let upstream: MockUpstream
let store: ConfigStore
let router: Router
let handler: DashboardHandler
let server: Server
let url: string

beforeAll(async () => {
  await buildPage({ quiet: true })
  upstream = await createMockUpstream()
  store = await createConfigStore({ directory: copyFixture(), env: { MOCK_URL: upstream.url }, watch: false })
  router = new Router({ config: store, healthChecks: false })
  handler = dashboardHandler({ router, store, token: TOKEN, basePath: '/ops/dashboard/' })
  server = createServer((request, response) => void handler(request, response))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  handler.close()
  await new Promise((resolve) => server.close(resolve))
  await router.dispose()
  await store.dispose()
  await upstream.close()
})

const bearer = { authorization: `Bearer ${TOKEN}` }

describe('without the token', () => {
  test('the page is a 401 login page with no data in it; the data routes answer 401', async () => {
    const page = await fetch(`${url}/ops/dashboard/`)
    expect(page.status).toBe(401)
    expect(page.headers.get('www-authenticate')).toBe('Bearer')
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await page.text()
    expect(html).toContain('<base href="/ops/dashboard/" />')
    expect(html).not.toContain(TOKEN)
    expect(html).not.toContain('main_group')
    for (const path of ['/ops/dashboard/api/snapshot', '/ops/dashboard/api/feed']) {
      const response = await fetch(`${url}${path}`)
      expect(response.status).toBe(401)
      expect(await response.text()).not.toContain('main_group')
    }
  })

  test('a token anywhere but the Authorization header is refused: not in the query, not in a cookie', async () => {
    expect((await fetch(`${url}/ops/dashboard/api/snapshot?token=${TOKEN}`)).status).toBe(401)
    expect((await fetch(`${url}/ops/dashboard/api/snapshot`, { headers: { cookie: `token=${TOKEN}` } })).status).toBe(
      401,
    )
    expect(
      (await fetch(`${url}/ops/dashboard/api/snapshot`, { headers: { authorization: 'Bearer wrong-token' } })).status,
    ).toBe(401)
  })

  test("the page's script and style are served to anyone: the package's own files, no data", async () => {
    const script = await fetch(`${url}/ops/dashboard/app.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const etag = script.headers.get('etag')!
    expect((await script.text()).length).toBeGreaterThan(10_000)
    expect((await fetch(`${url}/ops/dashboard/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await fetch(`${url}/ops/dashboard/app.css`)).status).toBe(200)
  })
})

describe('with the token', () => {
  test('the page (at the base path with or without its slash) and a snapshot of every instance', async () => {
    for (const path of ['/ops/dashboard', '/ops/dashboard/', '/ops/dashboard/index.html'])
      expect((await fetch(`${url}${path}`, { headers: bearer })).status).toBe(200)
    const snapshot = await fetch(`${url}/ops/dashboard/api/snapshot`, {
      headers: { authorization: `bearer  ${TOKEN}` },
    })
    expect(snapshot.status).toBe(200)
    const body = (await snapshot.json()) as HelloMessage
    expect(body.instances.map((instance) => instance.key).sort()).toEqual([...FIXTURE_INSTANCES].sort())
    expect(body.configuration.hash).toBe(store.current.source.hash)
  })

  test('the feed: a hello, then a tick every second, as server-sent events', async () => {
    const controller = new AbortController()
    const response = await fetch(`${url}/ops/dashboard/api/feed`, { headers: bearer, signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    while (
      parseEvents(text.slice(0, text.lastIndexOf('\n\n') + 2)).filter((message) => message.event === 'tick').length < 1
    ) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
    }
    const messages = parseEvents(text.slice(0, text.lastIndexOf('\n\n') + 2))
    expect(messages[0]!.event).toBe('hello')
    expect(messages[1]!.event).toBe('tick')
    expect(handler.feed.clientCount).toBe(1)
    controller.abort()
    await expect.poll(() => handler.feed.clientCount).toBe(0)
  })

  test('read-only: anything but GET and HEAD is refused; unknown paths are 404', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${url}/ops/dashboard/api/snapshot`, { method, headers: bearer })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
    }
    expect((await fetch(`${url}/ops/dashboard/api/other`, { headers: bearer })).status).toBe(404)
  })
})

test('close ends the connected feeds; later requests get a 503', async () => {
  const response = await fetch(`${url}/ops/dashboard/api/feed`, { headers: bearer })
  const reader = response.body!.getReader()
  await reader.read()
  handler.close()
  for (;;) if ((await reader.read()).done) break
  expect((await fetch(`${url}/ops/dashboard/api/snapshot`, { headers: bearer })).status).toBe(503)
})
