/**
 * The gateway command sets `--no-allocation-site-pretenuring` on its own process (run.ts, docs/decisions/0009), unless
 * the operator named the flag. `node:v8` is mocked in this file only: the flag would otherwise change the test
 * worker's V8 and nothing here could read it back.
 */
import { setFlagsFromString } from 'node:v8'
import { beforeEach, expect, test, vi } from 'vitest'
import { runGateway } from '../src/index'

vi.mock('node:v8', async (original) => ({
  ...(await original<typeof import('node:v8')>()),
  setFlagsFromString: vi.fn(),
}))

const io = (env: Record<string, string | undefined>) => ({
  stdout: { write: () => true },
  stderr: { write: () => true },
  env,
  cwd: '/',
})

beforeEach(() => vi.mocked(setFlagsFromString).mockClear())

test('runGateway turns pretenuring off before it starts the gateway; --help does not', async () => {
  expect(await runGateway(['--help'], io({}))).toBe(0)
  expect(setFlagsFromString).not.toHaveBeenCalled()
  // A missing directory fails at start (exit 1): the flag was set before.
  expect(await runGateway(['--config', '/nonexistent/llms', '--port', '0'], io({}))).toBe(1)
  expect(setFlagsFromString).toHaveBeenCalledWith('--no-allocation-site-pretenuring')
})

test("an operator's NODE_OPTIONS naming the flag is left alone", async () => {
  const env = { NODE_OPTIONS: '--allocation-site-pretenuring' }
  expect(await runGateway(['--config', '/nonexistent/llms', '--port', '0'], io(env))).toBe(1)
  expect(setFlagsFromString).not.toHaveBeenCalled()
})
