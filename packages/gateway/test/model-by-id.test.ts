/** GET /v1/models/{id}: one wrapper, pool or task group as a model object, OpenAI's shape. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI, { NotFoundError } from 'openai'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, FIXTURE } from './helpers'

let upstream: MockUpstream
let gateway: Gateway
let client: OpenAI

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: FIXTURE,
    env: { MOCK_URL: upstream.url },
    router: FAST_ROUTER,
    token: 'models-token',
  })
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'models-token', maxRetries: 0 })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})

test('a wrapper, a pool and a task group each come back as the model object /v1/models lists', async () => {
  const listed = new Map<string, OpenAI.Model>()
  for await (const model of client.models.list()) listed.set(model.id, model)
  for (const [id, owner] of [
    ['main_wrapper', 'llmpool:wrapper'],
    ['main_pool', 'llmpool:pool'],
    ['main_group', 'llmpool:task_group'],
  ] as const) {
    const model = await client.models.retrieve(id)
    expect(model).toEqual({ id, object: 'model', created: expect.any(Number), owned_by: owner })
    expect(model).toEqual(listed.get(id))
  }
  // Without the /v1 prefix too, like /models.
  const response = await fetch(`${gateway.url}/models/main_pool`, { headers: { authorization: 'Bearer models-token' } })
  expect(((await response.json()) as { id: string }).id).toBe('main_pool')
})

test('any other name is a 404 model_not_found in OpenAI shape (param "model"); the token is required', async () => {
  for (const id of ['no_such_pool', 'toString', '%E0%A4%A', 'main_pool/extra']) {
    const response = await fetch(`${gateway.url}/v1/models/${id}`, {
      headers: { authorization: 'Bearer models-token' },
    })
    expect(response.status, id).toBe(404)
    expect(await response.json()).toEqual({
      error: {
        message: expect.stringMatching(/does not exist/),
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      },
    })
  }
  await expect(client.models.retrieve('no_such_pool')).rejects.toBeInstanceOf(NotFoundError)
  expect((await fetch(`${gateway.url}/v1/models/main_pool`)).status).toBe(401)
})
