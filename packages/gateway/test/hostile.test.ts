/**
 * A hostile (or clumsy) client: nothing it sends may count against an instance, every mistake is a clear 4xx, and
 * the gateway stays up for everyone else.
 */
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import type { LanguageModelV3 } from '@ai-sdk/provider'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
let gateway: Gateway

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: FAST_ROUTER,
    maxBodyBytes: 64 * 1024,
    token: 'secret-token-1',
  })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

const headers = { 'content-type': 'application/json', authorization: 'Bearer secret-token-1' }
const post = (body: string, extra: Record<string, string> = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { ...headers, ...extra }, body })

async function breakersAndHealth() {
  const state = await gateway.router.state()
  return state.instances.map((instance) => ({
    key: instance.key,
    breaker: instance.breaker.state,
    failures: instance.breaker.failures,
    healthy: instance.health.healthy,
    cooldown: instance.cooldown,
  }))
}

const allClean = async () => {
  for (const instance of await breakersAndHealth())
    expect(instance).toMatchObject({ breaker: 'closed', failures: 0, healthy: true, cooldown: undefined })
}

describe('requests that fail before any upstream call touch no instance', () => {
  test('a streamed image_url holding text/plain data: a 400, and no breaker opens however often it is sent', async () => {
    const body = JSON.stringify({
      model: 'main_pool',
      stream: true,
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image_url',
              image_url: { url: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}` },
            },
          ],
        },
      ],
    })
    for (let index = 0; index < 8; index++) {
      const response = await post(body)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: Record<string, unknown> }).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_value',
        param: 'messages[0].content[0].image_url.url',
      })
    }
    expect(upstream.stats().arrivals).toBe(0)
    await allClean()
    expect(
      (await post(JSON.stringify({ model: 'main_pool', messages: [{ role: 'user', content: 'still fine' }] }))).status,
    ).toBe(200)
  })

  test.each([
    ['malformed percent-encoding', 'data:image/png,%E0%A4%A'],
    ['base64 that is not', 'data:image/png;base64,@@@'],
    ['not a URL', 'not a url'],
    ['another scheme', 'file:///etc/passwd'],
  ])('an image_url that is %s: a 400 naming it', async (_case, url) => {
    const response = await post(
      JSON.stringify({
        model: 'main_pool',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }],
      }),
    )
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as { error: Record<string, unknown> }
    expect(error.message).toMatch(/image_url\.url/)
    expect(error.param).toBe('messages[0].content[0].image_url.url')
  })

  test('JSON nested deeper than 64 levels: a 400 before parsing, fast, whatever the nesting is in', async () => {
    const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
    for (const body of [
      `{"model":"main_pool","messages":[{"role":"user","content":"hi"}],"metadata":${deep(100)}}`,
      `{"model":"main_pool","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep(80)}}}]}`,
    ]) {
      const response = await post(body)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: Record<string, unknown> }).error.code).toBe('too_deep')
    }
    // 60 KiB of nesting: refused at once rather than parsed.
    const started = performance.now()
    const response = await post(`{"model":"main_pool","x":${deep(30_000)}}`)
    expect(response.status).toBe(400)
    expect(performance.now() - started).toBeLessThan(500)
    expect(upstream.stats().arrivals).toBe(0)
    await allClean()
  })

  test('a duplicate top-level key (two "model"s) is refused with a 400: the upstream never gets the client\'s model name', async () => {
    for (const body of [
      '{"model":"gpt-4-very-expensive","messages":[{"role":"user","content":"hi"}],"model":"main_pool"}',
      '{"model":"main_pool","messages":[{"role":"user","content":"hi"}],"mo\\u0064el":"gpt-4-very-expensive"}',
    ]) {
      const response = await post(body)
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: Record<string, unknown> }).error).toMatchObject({
        code: 'duplicate_key',
        param: 'model',
      })
    }
    expect(upstream.stats().arrivals).toBe(0)
    // Nested keys may repeat across objects: that is ordinary JSON.
    expect(
      (await post('{"model":"main_pool","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}'))
        .status,
    ).toBe(200)
  })

  test('a provider failing in this process (EMFILE) is a 500 and opens no breaker', async () => {
    const emfile = Object.assign(new Error('Cannot connect to API: connect EMFILE'), {
      name: 'AI_APICallError',
      cause: Object.assign(new Error('connect EMFILE 127.0.0.1:443'), { code: 'EMFILE' }),
    })
    const broken: LanguageModelV3 = {
      specificationVersion: 'v3',
      provider: 'mock',
      modelId: 'x',
      supportedUrls: {},
      doGenerate: async () => {
        throw emfile
      },
      doStream: async () => {
        throw emfile
      },
    }
    const local = await startGateway({
      config: FIXTURE,
      env: { MOCK_URL: upstream.url },
      router: FAST_ROUTER,
      passThrough: false,
      providers: { openai: { createModel: () => broken } },
    })
    try {
      for (let index = 0; index < 6; index++) {
        const response = await fetch(`${local.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'main_pool', messages: [{ role: 'user', content: 'hi' }] }),
        })
        expect(response.status).toBe(500)
        expect(((await response.json()) as { error: Record<string, unknown> }).error.code).toBe('internal_error')
      }
      const state = await local.router.state()
      for (const instance of state.instances) expect(instance.breaker).toMatchObject({ state: 'closed', failures: 0 })
    } finally {
      await local.close()
    }
  })
})

describe('HTTP', () => {
  test('the bearer scheme is case-insensitive (RFC 9110); a wrong token is still a 401', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await fetch(`${gateway.url}/v1/models`, {
        headers: { authorization: `${scheme} secret-token-1` },
      })
      expect(response.status).toBe(200)
    }
    expect(
      (await fetch(`${gateway.url}/v1/models`, { headers: { authorization: 'Bearer secret-token-2' } })).status,
    ).toBe(401)
    expect(
      (await fetch(`${gateway.url}/v1/models`, { headers: { authorization: 'Basic secret-token-1' } })).status,
    ).toBe(401)
  })

  test('a body over the limit: fetch reads the 413 (no EPIPE), even while still sending', async () => {
    const big = JSON.stringify({
      model: 'main_pool',
      messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }],
    })
    const response = await post(big)
    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: Record<string, unknown> }).error.code).toBe('request_too_large')
  })

  test('a client that hangs up is counted as 499, not as a 500', async () => {
    upstream.setFaults('model-a', { latencyMs: 500 })
    upstream.setFaults('model-b', { latencyMs: 500 })
    const before = await metricValue('llmpool_gateway_http_responses_total{status="500"}')
    await new Promise<void>((resolve) => {
      const request = httpRequest(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers })
      request.on('error', () => resolve())
      request.end(JSON.stringify({ model: 'main_pool', messages: [{ role: 'user', content: 'bye' }] }))
      setTimeout(() => {
        request.destroy()
        resolve()
      }, 100)
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await metricValue('llmpool_gateway_http_responses_total{status="499"}')).toBeGreaterThanOrEqual(1)
    expect(await metricValue('llmpool_gateway_http_responses_total{status="500"}')).toBe(before)
    await allClean()
  })

  test('a slow body is cut after the body timeout; connections beyond the cap are refused', async () => {
    const guarded = await startGateway({
      config: FIXTURE,
      env: { MOCK_URL: upstream.url },
      router: FAST_ROUTER,
      requestTimeoutMs: 500,
      headersTimeoutMs: 500,
      maxConnections: 3,
    })
    try {
      const { port } = new URL(guarded.url)
      const slow = connect(Number(port), '127.0.0.1')
      const closed = new Promise<number>((resolve) => {
        const started = Date.now()
        slow.on('close', () => resolve(Date.now() - started))
        slow.on('error', () => undefined)
        slow.resume() // read the 408, so that the end of the connection is seen
      })
      slow.write(
        'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mo',
      )
      expect(await closed).toBeLessThan(5_000)
      // Three idle connections take every slot: a fourth is refused.
      const idle = await Promise.all(
        Array.from(
          { length: 3 },
          () =>
            new Promise<ReturnType<typeof connect>>((resolve) => {
              const socket = connect(Number(port), '127.0.0.1', () => resolve(socket))
              socket.on('error', () => undefined)
            }),
        ),
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      const refused = await fetch(`${guarded.url}/healthz`).then(
        () => false,
        () => true,
      )
      expect(refused).toBe(true)
      await Promise.all(idle.map((socket) => new Promise((resolve) => socket.once('close', resolve).destroy())))
      await new Promise((resolve) => setTimeout(resolve, 100))
      // A slot is free again (a fresh connection, not one of fetch's pooled ones).
      expect(
        await new Promise((resolve) =>
          httpRequest(`${guarded.url}/healthz`, { agent: false }, (response) => resolve(response.statusCode))
            .on('error', resolve)
            .end(),
        ),
      ).toBe(200)
    } finally {
      await guarded.close()
    }
  })
})

async function metricValue(series: string): Promise<number> {
  const text = await (
    await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer secret-token-1' } })
  ).text()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line ? Number(line.split(' ')[1]) : 0
}
