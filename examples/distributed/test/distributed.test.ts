import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(import.meta.dirname, '../../..')

test('three gateways on one Redis hold the limits and the breaker in total', () => {
  const run = spawnSync(
    path.join(root, 'node_modules/.bin/tsx'),
    ['--conditions=@llmpool/source', 'examples/distributed/src/main.ts'],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, NODE_OPTIONS: '', DURATION_MS: '3000' },
    },
  )
  expect(run.status, run.stdout + run.stderr).toBe(0)
  expect(run.stdout).toContain('the limits and the breaker held across the three gateways')
  expect(run.stdout).toMatch(/each gateway got a fair share/)
  const steady = /steady-model: (\d+) calls .* at most (\d+) at once/.exec(run.stdout)!
  expect(Number(steady[1])).toBeGreaterThan(0)
  expect(Number(steady[1])).toBeLessThanOrEqual(40)
  expect(Number(steady[2])).toBeLessThanOrEqual(3)
})
