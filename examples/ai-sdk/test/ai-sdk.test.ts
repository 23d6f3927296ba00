import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from 'vitest'

const root = path.resolve(import.meta.dirname, '../../..')

test('the AI SDK example runs generateText, streamText and a tool call through fast_pool_wrapper', () => {
  const run = spawnSync(
    path.join(root, 'node_modules/.bin/tsx'),
    ['--conditions=@llmpool/source', 'examples/ai-sdk/src/main.ts'],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '', AI_SDK_LOG_WARNINGS: 'false' },
    },
  )
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toMatch(
    /wrappers: fast_pool_wrapper, thinking_pool_wrapper, plan_pool_wrapper, fast_group_wrapper/,
  )
  expect(run.stdout).toMatch(/generateText {2}→ mock reply from [\w.-]+: Say hello in one sentence\./)
  expect(run.stdout).toMatch(/answered by fast_group\.echelon\d\/(openai|anthropic):[\w.-]+/)
  expect(run.stdout).toMatch(/streamText {4}→ mock reply from [\w.-]+: Stream a short greeting\.\n {16}\d+ deltas/)
  expect(run.stdout).toContain('tool call     → weather({"city":"Paris"})')
  expect(run.stdout).toContain('tool result   → {"city":"Paris","sky":"sunny","celsius":21}')
  expect(run.stdout).toMatch(/final answer {2}→ mock reply from [\w.-]+: .* \(2 steps\)/)
  expect(run.stdout).toMatch(/llmpool:thinking_pool → mock reply from [\w.-]+: Think briefly\./)
})
