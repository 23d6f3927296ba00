import { afterEach, describe, expect, test } from 'vitest'
import { disposeRouters, failing, mockProvider, prompt, routerFor, setup } from './helpers'

afterEach(disposeRouters)

const config = () =>
  setup({
    groups: {
      g: `
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a"]
max_retries = 0
temperature = 0.3
max_tokens = 100
[task_group.echelons.e2]
models = ["mock:b"]
max_retries = 0
temperature = 1.2
[task_group.echelons.e3]
models = ["mock:c"]
max_retries = 0
`,
    },
  })

describe('Temperature and max tokens', { timeout: 5000 }, () => {
  test("the caller's temperature and maxOutputTokens win", async () => {
    const mock = mockProvider()
    await routerFor(await config(), mock).generate('g', { ...prompt, temperature: 0.9, maxOutputTokens: 50 })
    expect(mock.calls[0]!.call).toMatchObject({ temperature: 0.9, maxOutputTokens: 50 })
  })

  test("when the caller leaves one out, the echelon's temperature / max_tokens applies (a caller's 0 is a value, not a gap)", async () => {
    const mock = mockProvider()
    const router = routerFor(await config(), mock)
    await router.generate('g', prompt)
    await router.generate('g', { ...prompt, temperature: 0 })
    await router.generate('g', { ...prompt, maxOutputTokens: 7 })
    expect(mock.calls.map((call) => [call.call.temperature, call.call.maxOutputTokens])).toEqual([
      [0.3, 100],
      [0, 100],
      [0.3, 7],
    ])
  })

  test("each attempt takes its own echelon's settings; when both leave one out it stays undefined (the provider's default)", async () => {
    const mock = mockProvider(failing('a', 'b'))
    await routerFor(await config(), mock).generate('g', prompt)
    expect(mock.calls.map((call) => [call.model, call.call.temperature, call.call.maxOutputTokens])).toEqual([
      ['a', 0.3, 100],
      ['b', 1.2, undefined],
      ['c', undefined, undefined],
    ])
  })

  test("the rest of the caller's call is passed on unchanged", async () => {
    const mock = mockProvider()
    const call = { ...prompt, topP: 0.5, stopSequences: ['END'], headers: { 'x-trace': '1' } }
    await routerFor(await config(), mock).generate('g', call)
    expect(mock.calls[0]!.call).toMatchObject({
      prompt: prompt.prompt,
      topP: 0.5,
      stopSequences: ['END'],
      headers: { 'x-trace': '1' },
    })
    expect(mock.calls[0]!.call.abortSignal).toBeInstanceOf(AbortSignal)
  })
})
