/** `onAbort`: a provider doing its own I/O hears the attempt's abort without an AbortSignal being made. */
import { getEventListeners } from 'node:events'
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { afterEach, describe, expect, test } from 'vitest'
import { onAbort, Router } from '../src/index'
import { configFrom, mockProvider, prompt, registry, textResult } from './helpers'

const GROUP = `
[task_group]
name = "g"
[task_group.echelons.e1]
models = ["mock:slow"]
max_retries = 0
timeout = 0.05
`

/** A model that answers after `ms` unless aborted, and records what it heard through onAbort. */
function listeningModel(heard: unknown[], ms: number) {
  return (call: LanguageModelV3CallOptions) =>
    new Promise<ReturnType<typeof textResult>>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop()
        resolve(textResult('slow'))
      }, ms)
      const stop = onAbort(call, (reason) => {
        heard.push(reason)
        clearTimeout(timer)
        reject(reason)
      })
    })
}

const RealAbortController = globalThis.AbortController
let made = 0
afterEach(() => {
  globalThis.AbortController = RealAbortController
})
/** Counts the AbortControllers made from now on. */
function countControllers() {
  made = 0
  globalThis.AbortController = class extends RealAbortController {
    constructor() {
      super()
      made++
    }
  }
}

describe('onAbort', () => {
  test("the attempt's timeout reaches the listener, and no AbortController is made for it", async () => {
    const config = await configFrom({ '_registry.toml': registry([], ['g']), 'task-groups/g.toml': GROUP })
    const heard: unknown[] = []
    const mock = mockProvider({ slow: listeningModel(heard, 10_000) })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    countControllers()
    await expect(router.generate('g', prompt)).rejects.toThrow()
    expect(heard).toHaveLength(1)
    expect(String((heard[0] as Error).message)).toMatch(/timed out/)
    expect(made).toBe(0)
    await router.dispose()
  })

  test("the caller's abort reaches the listener with the caller's reason", async () => {
    const config = await configFrom({
      '_registry.toml': registry([], ['g']),
      'task-groups/g.toml': GROUP.replace('timeout = 0.05', 'timeout = 30'),
    })
    const heard: unknown[] = []
    const mock = mockProvider({ slow: listeningModel(heard, 10_000) })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    const controller = new AbortController()
    const reason = new Error('the caller left')
    const pending = router.generate('g', prompt, { signal: controller.signal })
    await new Promise((resolve) => setTimeout(resolve, 10))
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    expect(heard).toEqual([reason])
    await router.dispose()
  })

  test("calls sharing a caller's signal add one listener to it; its abort reaches those in flight, not those done", async () => {
    const config = await configFrom({
      '_registry.toml': registry([], ['g']),
      'task-groups/g.toml': GROUP.replace('timeout = 0.05', 'timeout = 30'),
    })
    const heard: unknown[] = []
    const mock = mockProvider({ slow: () => textResult('quick') })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    const controller = new AbortController()
    const { signal } = controller
    // Calls that finish first leave nothing to hear the abort.
    for (let call = 0; call < 2; call++)
      await expect(router.generate('g', prompt, { signal })).resolves.toMatchObject({ content: [{ text: 'quick' }] })
    mock.behaviours.slow = listeningModel(heard, 10_000)
    const pending = [1, 2, 3].map(() => router.generate('g', prompt, { signal }))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(getEventListeners(signal, 'abort')).toHaveLength(1)
    const reason = new Error('the connection closed')
    controller.abort(reason)
    for (const call of pending) await expect(call).rejects.toBe(reason)
    expect(heard).toEqual([reason, reason, reason])
    // An aborted signal fails a new call at once, without a listener.
    await expect(router.generate('g', prompt, { signal })).rejects.toBe(reason)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    await router.dispose()
  })

  test('a listener that stopped listening hears nothing; one added after the abort hears it at once', async () => {
    const config = await configFrom({ '_registry.toml': registry([], ['g']), 'task-groups/g.toml': GROUP })
    const heard: string[] = []
    const mock = mockProvider({
      slow: (call) =>
        new Promise((_, reject) => {
          onAbort(call, () => heard.push('stopped'))()
          onAbort(call, (reason) => {
            heard.push('first')
            onAbort(call, () => heard.push('late'))
            reject(reason)
          })
        }),
    })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    await expect(router.generate('g', prompt)).rejects.toThrow()
    expect(heard).toEqual(['first', 'late'])
    await router.dispose()
  })

  test('a call the router did not make: onAbort listens on its abortSignal', () => {
    const controller = new AbortController()
    const heard: unknown[] = []
    const stop = onAbort({ ...prompt, abortSignal: controller.signal }, (reason) => heard.push(reason))
    controller.abort('first')
    stop()
    expect(heard).toEqual(['first'])
    const aborted = new AbortController()
    aborted.abort('already')
    onAbort({ ...prompt, abortSignal: aborted.signal }, (reason) => heard.push(reason))
    expect(heard).toEqual(['first', 'already'])
    expect(onAbort(prompt, () => heard.push('never'))).toBeTypeOf('function')
  })

  test('a model that reads abortSignal still gets a real one, aborted on timeout', async () => {
    const config = await configFrom({ '_registry.toml': registry([], ['g']), 'task-groups/g.toml': GROUP })
    let signal: AbortSignal | undefined
    const mock = mockProvider({
      slow: (call) =>
        new Promise((_, reject) => {
          signal = call.abortSignal
          signal!.addEventListener('abort', () => reject(signal!.reason))
        }),
    })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    await expect(router.generate('g', prompt)).rejects.toThrow()
    expect(signal).toBeInstanceOf(AbortSignal)
    expect(signal!.aborted).toBe(true)
    await router.dispose()
  })
})
