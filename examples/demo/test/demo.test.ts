import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createMockUpstream } from '@llmpool/testing'
import { expect, test, vi } from 'vitest'

const root = path.resolve(import.meta.dirname, '../../..')

/** A row of the tables: the eight counts (requests ... cooldowns*), as printed. */
interface Row {
  requests: number
  ok: number
  retries: number
  fallbacks: number
  timeouts: number
  hedges: number
  trips: number
  cooldowns: number
}

/** The two tables: per pool / task group, and per instance under each pool / task group that called it. */
function readTables(stdout: string) {
  const lines = stdout.split('\n')
  const counts = (text: string): Row => {
    const [requests, ok, retries, fallbacks, timeouts, hedges, trips, cooldowns] = text
      .trim()
      .split(/\s+/)
      .slice(0, 8)
      .map(Number) as number[]
    return {
      requests: requests!,
      ok: ok!,
      retries: retries!,
      fallbacks: fallbacks!,
      timeouts: timeouts!,
      hedges: hedges!,
      trips: trips!,
      cooldowns: cooldowns!,
    }
  }
  const targets = new Map<string, Row>()
  const calls = new Map<string, Map<string, Row>>()
  let at = lines.findIndex((line) => line.startsWith('pool / task group ')) + 2
  for (; lines[at] !== ''; at++) {
    const [, name, rest] = /^(\S+)\s+(.*)$/.exec(lines[at]!)!
    targets.set(name!, counts(rest!))
  }
  at = lines.findIndex((line) => line.startsWith('instance, by caller ')) + 2
  let caller = ''
  for (; lines[at] !== ''; at++) {
    const row = /^ {2}(\S+)\s+(.*)$/.exec(lines[at]!)
    if (row) calls.get(caller)!.set(row[1]!, counts(row[2]!))
    else calls.set((caller = lines[at]!.trim()), new Map())
  }
  return { targets, calls }
}

test('the demo routes every request of configs/llms while models fail, prints its tables with a legend, why calls failed, and what happened', () => {
  const started = Date.now()
  const run = spawnSync(
    path.join(root, 'node_modules/.bin/tsx'),
    ['examples/demo/src/demo.ts', '--requests', '140', '--concurrency', '20'],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  )
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  const out = run.stdout
  expect(out).toContain('140 of 140 requests answered, 0 failed')

  // The columns issue 6 brought, and a legend for every column.
  expect(out).toMatch(
    /^pool \/ task group\s+requests\s+ok\s+retries\s+fallbacks\s+timeouts\s+hedges\s+trips\*\s+cooldowns\*\s+p50\s+p99$/m,
  )
  for (const column of [
    'requests',
    'ok',
    'retries',
    'fallbacks',
    'timeouts',
    'hedges',
    'trips\\*',
    'cooldowns\\*',
    'p50, p99',
    '\\*',
  ])
    expect(out).toMatch(new RegExp(`^legend$[\\s\\S]*^ {2}${column}\\s{2,}\\S`, 'm'))
  expect(out).toMatch(/a\s+pool \/ task group row adds up every instance its route reaches/)

  const { targets, calls } = readTables(out)
  for (const target of [
    'fast_pool',
    'thinking_pool',
    'plan_pool',
    'fast_group',
    'thinking_group',
    'plan_group',
    'execute_group',
  ]) {
    expect(targets.get(target), target).toMatchObject({ requests: 20, ok: 20 })
    // Pools have instance rows too (the instances of their task groups), and the calls of its rows answered it.
    expect(calls.get(target)?.size, target).toBeGreaterThan(0)
    const sent = [...calls.get(target)!.values()].reduce((sum, row) => sum + row.ok, 0)
    expect(sent, target).toBeGreaterThanOrEqual(20)
  }
  const everyRow = [...calls].flatMap(([caller, rows]) =>
    [...rows].map(([instance, row]) => ({ caller, instance, row })),
  )
  // The failing model never answered, and was left after a few calls.
  const failing = everyRow.filter(({ instance }) => instance.endsWith('/openai:gpt-4o'))
  expect(failing.length).toBeGreaterThan(0)
  for (const { row } of failing) {
    expect(row.ok).toBe(0)
    expect(row.requests).toBeLessThan(10)
  }
  // Its breaker opened (plan_group trips at 3 failures), and the trip counts for the pools and groups that reach it.
  const tripped = failing.filter(({ row }) => row.trips > 0)
  expect(tripped.length).toBeGreaterThan(0)
  for (const { caller, row } of tripped) expect(targets.get(caller)!.trips).toBeGreaterThanOrEqual(row.trips)
  expect([...targets].filter(([name, row]) => name.endsWith('_pool') && row.trips > 0).length).toBeGreaterThan(0)
  // The hanging model timed out (2 s each) on every call until it was left.
  const hanging = calls.get('thinking_group')!.get('thinking_group.echelon1/openai:gpt-4')!
  expect(hanging.timeouts).toBeGreaterThan(0)
  expect(hanging.timeouts).toBe(hanging.requests)
  expect(targets.get('thinking_group')!.timeouts).toBe(0)
  // The rate-limited models rested; the slow one was hedged in execute_group.
  expect(everyRow.reduce((sum, { row }) => sum + row.cooldowns, 0)).toBeGreaterThan(0)
  expect(targets.get('execute_group')!.hedges).toBeGreaterThan(0)
  expect([...calls.get('execute_group')!.values()].reduce((sum, row) => sum + row.hedges, 0)).toBe(
    targets.get('execute_group')!.hedges,
  )

  // Why calls failed, per instance, in words.
  expect(out).toMatch(/^ {2}\S+\/openai:gpt-4o\s+(\d+) of \1\s+\1 × 500 from openai$/m)
  expect(out).toMatch(/^ {2}thinking_group\.echelon1\/openai:gpt-4\s+(\d+) of \1\s+\1 × timed out after 2 s$/m)
  expect(out).toMatch(
    /^ {2}\S+\/anthropic:claude-3-(haiku|sonnet)\s+\d+ of \d+\s+\d+ × 429 from anthropic \(rate limited\)/m,
  )

  // The story: three plain lines.
  const story = out
    .slice(out.indexOf('\nwhat happened\n') + '\nwhat happened\n'.length)
    .trimEnd()
    .split('\n')
  expect(story).toHaveLength(3)
  expect(story[0]).toMatch(
    /(^ {2}|\. )gpt-4o failed 100 % of its \d+ calls \(500 from openai\); [^.]*the router answered those requests with \S+ \(\d+\)/,
  )
  expect(story[0]).toMatch(/gpt-4 failed 100 % of its \d+ calls \(timed out after 2 s\)/)
  expect(story[0]).toMatch(/breakers? opened/)
  expect(story[1]).toMatch(
    /^ {2}claude-3-\S+ was rate-limited on \d+ of its \d+ calls \(429 from anthropic\) and rested/,
  )
  expect(story[2]).toMatch(
    /^ {2}Every one of the 140 requests was answered, in [\d.]+ s \(p50 \d+ ms, p99 [\d.]+ m?s\)\. /,
  )
  expect(story[2]).toMatch(
    /gpt-4o-mini was slow, so \d+ of its calls got a hedge \(a second call\) after 300 ms.*; the hedge answered first/,
  )
  expect(Date.now() - started).toBeLessThan(60_000)
})

test('--live: each failing instance says why (network unreachable, 401 from anthropic), and no API key is printed', async () => {
  // Real providers are out of reach here: OpenAI's points at a closed port, Anthropic's at a mock that refuses keys.
  const upstream = await createMockUpstream()
  upstream.setFaults('*', { status: 401 })
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  const keys = { OPENAI_API_KEY: 'sk-live-openai-0123456789abcdef', ANTHROPIC_API_KEY: 'sk-ant-live-fedcba9876543210' }
  try {
    const child = spawn(
      path.join(root, 'node_modules/.bin/tsx'),
      ['examples/demo/src/demo.ts', '--live', '--requests', '14', '--concurrency', '7'],
      {
        cwd: root,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          ...keys,
          OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
          ANTHROPIC_BASE_URL: `${upstream.url}/v1`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code, output).toBe(0)
    expect(output).toMatch(/0 of 14 requests answered, 14 failed/)
    expect(output).toMatch(
      new RegExp(
        `^ {2}\\S+/openai:gpt-4o\\s+(\\d+) of \\1\\s+\\1 × network unreachable: 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`,
        'm',
      ),
    )
    expect(output).toMatch(
      /^ {2}\S+\/anthropic:claude-3-5-sonnet\s+(\d+) of \1\s+\1 × 401 from anthropic \(key refused\)$/m,
    )
    // The story: what failed, in words, and that nothing answered.
    expect(output).toMatch(
      /^ {2}\S+ failed 100 % of its \d+ calls \((network unreachable: 127\.0\.0\.1:\d+, ECONNREFUSED|401 from anthropic, key refused)\)/m,
    )
    expect(output).toMatch(/^ {2}0 of 14 requests were answered, in [\d.]+ s .*; 14 failed \(/m)
    for (const key of Object.values(keys)) {
      expect(output).not.toContain(key)
      expect(output).not.toContain(key.slice(0, 16))
    }
  } finally {
    await upstream.close()
  }
}, 90_000)

test('--dashboard: the live page at a printed URL while the traffic goes on, until Ctrl-C', async () => {
  const child = spawn(
    path.join(root, 'node_modules/.bin/tsx'),
    ['examples/demo/src/demo.ts', '--requests', '40', '--concurrency', '10', '--dashboard'],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    await vi.waitFor(() => expect(output).toContain('steady traffic for the dashboard'), {
      timeout: 60_000,
      interval: 100,
    })
    const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/dashboard\/)/.exec(output)![1]!
    expect((await fetch(url)).status).toBe(200)
    const snapshot = (await (await fetch(`${url}api/snapshot`)).json()) as {
      instances: { key: string }[]
      history: { status: string }[]
    }
    expect(snapshot.instances.map((instance) => instance.key)).toContain('fast_group.echelon1/openai:gpt-4o')
    expect(snapshot.history[0]!.status).toBe('applied')
  } finally {
    child.kill('SIGINT')
  }
  expect(await exited).toBe(0)
  expect(output).toMatch(/stopped: \d+ of \d+ requests answered/)
}, 90_000)
