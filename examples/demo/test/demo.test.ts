import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(import.meta.dirname, '../../..')

test('the demo routes every request of configs/llms while models fail, and prints its tables', () => {
  const started = Date.now()
  const run = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['examples/demo/src/demo.ts', '--requests', '140', '--concurrency', '20'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('140 of 140 requests answered, 0 failed')
  // The failing model tripped its breaker; the rate-limited one was retried; every pool and group was served.
  expect(run.stdout).toMatch(/fast_group\.echelon1\/openai:gpt-4o\s+\d+\s+0\s+\d+\s+\d+\s+1\s/)
  for (const target of ['fast_pool', 'thinking_pool', 'plan_pool', 'fast_group', 'thinking_group', 'plan_group', 'execute_group'])
    expect(run.stdout).toMatch(new RegExp(`\\n${target}\\s+20\\s+20\\s`))
  expect(Date.now() - started).toBeLessThan(60_000)
})
