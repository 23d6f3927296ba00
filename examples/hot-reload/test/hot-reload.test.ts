import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(import.meta.dirname, '../../..')

test('a good edit is applied and a bad one rejected while traffic flows, and no request fails', () => {
  const run = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['examples/hot-reload/src/main.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toMatch(/reload applied \(watch\): task groups changed \["group"\]/)
  expect(run.stdout).toMatch(
    /reload rejected, still serving the last good configuration: task-groups\/group\.toml task_group\.echelons\.main\.concurrency_limit/,
  )
  expect(run.stdout).toMatch(/reload \(watch\): nothing changed/)
  expect(run.stdout).toMatch(/\d+ requests succeeded, 0 failed; 2 configurations applied, 1 rejected/)
  // After step 1, model-c serves instead of model-a.
  const afterSwap = /serving \(requests started under the configuration in force\): (.*)/.exec(
    run.stdout.split('1. replacing')[1]!,
  )![1]!
  expect(afterSwap).toContain('model-c')
  expect(afterSwap).not.toContain('model-a')
})
