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
  // Per instance: requests, ok, retries, fallbacks, trips, timeouts, cooldowns. The failing model never answered and
  // was left; the hanging one timed out (2 s each) until it was out; the one with retry-after 5 s rested.
  const row = (instance: string) => new RegExp(`${instance.replace(/[./]/g, (char) => `\\${char}`)}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s`).exec(run.stdout)
  const failing = row('fast_group.echelon1/openai:gpt-4o')!
  expect(Number(failing[2])).toBe(0)
  expect(Number(failing[1])).toBeLessThan(10)
  const hanging = row('thinking_group.echelon1/openai:gpt-4')!
  expect(Number(hanging[6])).toBeGreaterThan(0)
  expect(Number(hanging[6])).toBe(Number(hanging[1]))
  // The rate-limited models rested (cooldowns counted on the instances they hit).
  const cooldowns = [...run.stdout.matchAll(/^\S+\/\S+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+(\d+)\s/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
  expect(cooldowns).toBeGreaterThan(0)
  for (const target of ['fast_pool', 'thinking_pool', 'plan_pool', 'fast_group', 'thinking_group', 'plan_group', 'execute_group'])
    expect(run.stdout).toMatch(new RegExp(`\\n${target}\\s+20\\s+20\\s`))
  expect(Date.now() - started).toBeLessThan(60_000)
})
