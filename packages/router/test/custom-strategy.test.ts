import { describe, expect, test } from 'vitest'
import { Router, type RotationStrategy } from '../src/index'
import { configFrom, mockProvider, prompt, registry } from './helpers'

const tree = (type: string) => ({
  '_registry.toml': registry(['p'], ['g']),
  'pools/p.toml': `[pool]\nname = "p"\ntask_groups = ["g"]\n[pool.rotation_strategy]\ntype = "${type}"\n`,
  'task-groups/g.toml': '[task_group]\nname = "g"\n[task_group.echelons.e1]\nmodels = ["mock:a", "mock:b", "mock:c"]\n',
})

describe('rotation strategies registered in code', () => {
  test('`custom:NAME` in a pool selects the strategy registered as NAME, through the same interface', async () => {
    // Always the last candidate first.
    const lastFirst = (): RotationStrategy => ({ order: (candidates) => [...candidates].reverse() })
    const mock = mockProvider()
    const router = new Router({
      config: await configFrom(tree('custom:last_first')),
      providers: { mock: mock.definition },
      strategies: { last_first: lastFirst },
      healthChecks: false,
    })
    for (let i = 0; i < 3; i++) expect((await router.generate('p', prompt)).routing.instance).toBe('g.e1/mock:c')
    await router.dispose()
  })

  test('an unregistered custom strategy is a clear error when the router is built', async () => {
    const config = await configFrom(tree('custom:nowhere'))
    expect(() => new Router({ config, healthChecks: false })).toThrow(
      /rotation strategy "custom:nowhere" is not registered/,
    )
  })

  test('the configuration rejects a name that is neither built in nor custom:NAME', async () => {
    await expect(configFrom(tree('round-robin'))).rejects.toThrow(
      /must be one of round_robin \| random \| weighted \| least_connections, or custom:NAME/,
    )
  })
})
