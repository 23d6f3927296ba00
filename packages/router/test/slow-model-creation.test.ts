import { expect, test } from 'vitest'
import { type ProviderDefinition, RequestTimeoutError, Router } from '../src/index'
import { configFrom, prompt, registry, textResult } from './helpers'

test('a deadline that passes while the model is still being made fails the request, and leaves nothing unhandled', async () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    let calls = 0
    // Making the model takes 50 ms (as a provider's first dynamic import does); the model honours its abort signal.
    const slow: ProviderDefinition = {
      createModel: async ({ modelId }) => {
        await new Promise((resolve) => setTimeout(resolve, 50))
        return {
          specificationVersion: 'v3',
          provider: 'slow',
          modelId,
          supportedUrls: {},
          doGenerate: (call) => {
            calls++
            return new Promise((resolve, reject) => {
              if (call.abortSignal?.aborted) return reject(call.abortSignal.reason)
              call.abortSignal?.addEventListener('abort', () => reject(call.abortSignal!.reason))
              setTimeout(() => resolve(textResult('late')), 1_000)
            })
          },
          doStream: async () => {
            throw new Error('not used')
          },
        }
      },
    }
    const config = await configFrom({
      '_registry.toml': registry([], ['g']),
      'task-groups/g.toml':
        '[task_group]\nname = "g"\n[task_group.echelons.e1]\nmodels = ["slow:a"]\nmax_retries = 0\n',
    })
    const router = new Router({ config, providers: { slow }, healthChecks: false })
    const error = await router.generate('g', prompt, { timeoutMs: 10 }).catch((caught: unknown) => caught)
    expect(RequestTimeoutError.isInstance(error)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(unhandled).toEqual([])
    expect(calls).toBeLessThanOrEqual(1)
    await router.dispose()
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})
