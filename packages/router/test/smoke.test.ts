import { describe, expect, test } from 'vitest'
import { Router } from '../src/index'
import { configFrom, httpError, mockProvider, prompt, registry } from './helpers'

describe('router smoke', () => {
  test('a task group answers from its first echelon, and falls over when an instance fails', async () => {
    const config = await configFrom({
      '_registry.toml': registry([], ['g']),
      'task-groups/g.toml': `
[task_group]
name = "g"
[task_group.fallback]
max_attempts = 3
retry_delay = 0
[task_group.echelons.e1]
models = ["mock:a", "mock:b"]
max_retries = 0
[task_group.echelons.e2]
models = ["mock:c"]
`,
    })
    const mock = mockProvider({
      a: () => {
        throw httpError(500)
      },
    })
    const router = new Router({ config, providers: { mock: mock.definition }, healthChecks: false })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await router.generate('g', prompt))
    expect(results.map((result) => result.routing.instance)).toEqual([
      'g.e1/mock:b',
      'g.e1/mock:b',
      'g.e1/mock:b',
      'g.e1/mock:b',
    ])
    expect(results[0]!.content).toEqual([{ type: 'text', text: 'b' }])
    await router.dispose()
  })
})
