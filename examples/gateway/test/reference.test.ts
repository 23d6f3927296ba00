/** The reference app: per-team tokens decide who may call; the custom provider's header reaches the upstream. */
import type { Gateway } from '@llmpool/gateway'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startReferenceGateway } from '../src/app'

let upstream: MockUpstream
let gateway: Gateway

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startReferenceGateway('team-a:token-a, team-b:token-b', {
    env: { INTERNAL_URL: `${upstream.url}/v1` },
    router: { healthChecks: false },
  })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})

const client = (apiKey: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 })
const ask = (apiKey: string) =>
  client(apiKey).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }] })

test('each team token is let in; any other token gets a 401', async () => {
  expect((await ask('token-a')).model).toBe('assistant')
  expect((await ask('token-b')).model).toBe('assistant')
  await expect(ask('token-c')).rejects.toMatchObject({ status: 401 })
  const health = await fetch(`${gateway.url}/healthz`)
  expect(health.status).toBe(200)
})

test('the custom provider sends its header; a failing primary falls back to the backup echelon', async () => {
  upstream.reset()
  upstream.setFaults('llama-large', { status: 503 })
  try {
    const completion = await client('token-a')
      .chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse()
    expect(completion.response.headers.get('x-llmpool-instance')).toBe('internal_group.backup/internal:llama-small')
    const seen = upstream.requests()
    expect(seen.map((request) => request.model)).toEqual(['llama-large', 'llama-small'])
    for (const request of seen) expect(request.headers['x-request-source']).toBe('llmpool-example-gateway')
  } finally {
    upstream.clearFaults()
  }
})

test('a malformed team-token list is refused at start, without echoing the token', () => {
  expect(() => startReferenceGateway('team-a=secret-token')).toThrow(/"team:token" pairs/)
  try {
    void startReferenceGateway('team-a=secret-token')
  } catch (error) {
    expect((error as Error).message).not.toContain('secret-token')
  }
})
