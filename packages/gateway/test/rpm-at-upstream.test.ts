/**
 * rpm_limit is exact where it matters, at the upstream: rpm_limit 5 per instance, 30 requests at once that are
 * willing to wait (request_timeout 66 s) — no 60-second span of the upstream's arrivals holds more than 5 calls per
 * model, through either door. Both doors at once (each with models of its own), so that their minutes overlap.
 */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { DOORS, type Door, pointAt } from './doors'
import { busiestWindow, writeConfiguration } from './helpers'

function configuration(door: string): string {
  return writeConfiguration(
    {
      '_registry.toml':
        '[task_groups]\nlimited_group = { file = "task-groups/limited-group.toml" }\n[wrappers]\nw = { file = "wrappers/w.toml" }\n',
      'task-groups/limited-group.toml': `[task_group]
name = "limited_group"
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.main]
models = ["openai:${door}-a", "openai:${door}-b"]
rpm_limit = 5
max_retries = 0
`,
      'wrappers/w.toml':
        '[wrappers]\nlimited_wrapper = { type = "task_group", task_group_name = "limited_group" }\n[global]\nrequest_timeout = 66\n',
    },
    'rpm',
  )
}

const doors: Door[] = []
let upstream: MockUpstream
let restore: () => void

beforeAll(async () => {
  upstream = await createMockUpstream({ recordBodies: false })
  restore = pointAt(upstream)
  doors.push(
    await DOORS.library(configuration('library'), upstream),
    await DOORS.gateway(configuration('gateway'), upstream),
  )
})
afterAll(async () => {
  await Promise.all(doors.map((door) => door.close()))
  restore()
  await upstream.close()
})

async function rpmAtUpstream(door: Door): Promise<void> {
  const outcomes = await Promise.all(
    Array.from({ length: 30 }, (_, index) =>
      door.ask('limited_wrapper', `r${index}`).then(
        () => 'answered',
        (error: { code?: string; status?: number }) => String(error.code ?? error.status),
      ),
    ),
  )
  for (const model of [`${door.name}-a`, `${door.name}-b`]) {
    const arrivals = upstream.requests({ model }).map((request) => request.arrivedAt)
    expect(busiestWindow(arrivals, 60_000), model).toBeLessThanOrEqual(5)
    // The second minute's calls were made: the limit held by waiting, not by refusing everything.
    expect(arrivals.length, model).toBe(10)
  }
  expect(outcomes.filter((outcome) => outcome === 'answered')).toHaveLength(20)
  // The rest could not be served within their deadline: refused as rate limited (the gateway's 429).
  expect(
    outcomes
      .filter((outcome) => outcome !== 'answered')
      .every((outcome) => outcome === 'rate_limited' || outcome === '429'),
  ).toBe(true)
}

test('rpm_limit 5 through the library and the gateway: the upstream never sees more than 5 calls per model in 60 s', {
  timeout: 120_000,
}, async () => {
  await Promise.all(doors.map((door) => rpmAtUpstream(door)))
})
