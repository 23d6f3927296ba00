/** API-key rotation: `api_keys` makes one instance per key, each with its own limits, breaker, health and cooldown. */
import type { LanguageModelV3 } from '@ai-sdk/provider'
import { FakeClock } from '@llmpool/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { planToJSON, type ProviderDefinition } from '../src/index'
import { disposeRouters, httpError, prompt, routerFor, setup, textResult } from './helpers'

afterEach(disposeRouters)

/** A provider whose calls record the key they were made with; `refuse` lists keys answered with a 401. */
function keyedProvider(refuse: string[] = []) {
  const calls: string[] = []
  const definition: ProviderDefinition = {
    createModel: ({ modelId, apiKey }): LanguageModelV3 => ({
      specificationVersion: 'v3',
      provider: 'mock',
      modelId,
      supportedUrls: {},
      async doGenerate() {
        calls.push(apiKey ?? '(none)')
        if (apiKey && refuse.includes(apiKey)) throw httpError(401, `Incorrect API key provided: ${apiKey}`)
        return textResult(`${modelId} with ${apiKey}`)
      },
      async doStream() {
        throw new Error('not used')
      },
    }),
  }
  return { definition, calls }
}

const rotating = (extra = '') => `
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a"]
api_keys = ["sk-key-one-1111", "sk-key-two-2222", "sk-key-three-3333"]
max_retries = 0
${extra}
`

describe('API-key rotation', { timeout: 5000 }, () => {
  test('each key is its own instance (`model#N`, never the key), and rotation spreads the traffic over the keys', async () => {
    const config = await setup({ groups: { g: rotating() } })
    const provider = keyedProvider()
    const router = routerFor(config, { definition: provider.definition })
    expect([...router.plan.instances.keys()]).toEqual(['g.e1/mock:a#1', 'g.e1/mock:a#2', 'g.e1/mock:a#3'])
    const served: string[] = []
    for (let i = 0; i < 6; i++) served.push((await router.generate('g', prompt)).routing.instance)
    expect(served).toEqual([
      'g.e1/mock:a#1',
      'g.e1/mock:a#2',
      'g.e1/mock:a#3',
      'g.e1/mock:a#1',
      'g.e1/mock:a#2',
      'g.e1/mock:a#3',
    ])
    expect(provider.calls).toEqual([
      'sk-key-one-1111',
      'sk-key-two-2222',
      'sk-key-three-3333',
      'sk-key-one-1111',
      'sk-key-two-2222',
      'sk-key-three-3333',
    ])
  })

  test('a key answered with 401 is taken out of rotation with its reason visible, and the request moves on', async () => {
    const config = await setup({ groups: { g: rotating() } })
    const provider = keyedProvider(['sk-key-two-2222'])
    const clock = new FakeClock()
    const router = routerFor(config, { definition: provider.definition }, { clock })
    const served: string[] = []
    for (let i = 0; i < 6; i++) served.push((await router.generate('g', prompt)).routing.instance)
    // #2 refused once, then out: the turns go to #1 and #3 alone.
    expect(served).toEqual([
      'g.e1/mock:a#1',
      'g.e1/mock:a#3',
      'g.e1/mock:a#1',
      'g.e1/mock:a#3',
      'g.e1/mock:a#1',
      'g.e1/mock:a#3',
    ])
    expect(provider.calls.filter((key) => key === 'sk-key-two-2222')).toHaveLength(1)
    const state = await router.state()
    const second = state.instances.find((instance) => instance.key === 'g.e1/mock:a#2')!
    expect(second.cooldown).toEqual({
      kind: 'auth',
      reason: '401 the key was refused',
      remainingMs: 300_000,
      remote: false,
    })
    // No key anywhere: not in the state, the plan, or the attempts' messages.
    const text = JSON.stringify([state, planToJSON(router.plan)])
    for (const key of ['sk-key-one-1111', 'sk-key-two-2222', 'sk-key-three-3333']) expect(text).not.toContain(key)
  })

  test("the echelon's rpm_limit and concurrency_limit apply per key", async () => {
    const config = await setup({ groups: { g: rotating('rpm_limit = 1') } })
    const provider = keyedProvider()
    const clock = new FakeClock()
    const router = routerFor(config, { definition: provider.definition }, { clock })
    for (let i = 0; i < 3; i++) await router.generate('g', prompt)
    expect(provider.calls).toEqual(['sk-key-one-1111', 'sk-key-two-2222', 'sk-key-three-3333'])
    await expect(router.generate('g', prompt, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'rate_limited' })
    const limits = (await router.state()).instances.map((instance) => instance.limits)
    expect(limits).toHaveLength(3)
  })

  test('the attempt records scrub the key out of an upstream message that quotes it', async () => {
    const config = await setup({ groups: { g: rotating() } })
    const provider = keyedProvider(['sk-key-one-1111'])
    const router = routerFor(config, { definition: provider.definition })
    const result = await router.generate('g', prompt)
    expect(result.routing.attempts[0]!.error!.message).toBe('Incorrect API key provided: [redacted]')
  })
})
