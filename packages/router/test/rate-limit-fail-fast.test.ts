import { expect, test } from 'vitest'
import { RateLimitedError, Router } from '../src/index'
import { configFrom, mockProvider, prompt, registry } from './helpers'

test('a rate limit that frees up only after the deadline fails the request at once, not at the deadline', async () => {
  const config = await configFrom({
    '_registry.toml': registry([], ['g']),
    'task-groups/g.toml': '[task_group]\nname = "g"\n[task_group.echelons.e1]\nmodels = ["mock:a"]\nrpm_limit = 1\n',
  })
  const router = new Router({ config, providers: { mock: mockProvider().definition }, healthChecks: false })
  await router.generate('g', prompt)
  const started = Date.now()
  const error = await router.generate('g', prompt, { timeoutMs: 5_000 }).catch((caught: unknown) => caught)
  expect(RateLimitedError.isInstance(error)).toBe(true)
  expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(50_000)
  expect(Date.now() - started).toBeLessThan(1_000)
  await router.dispose()
})
