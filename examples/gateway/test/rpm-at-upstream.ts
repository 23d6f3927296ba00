/**
 * rpm_limit is exact where it matters, at the upstream: rpm_limit 5 per instance, 30 requests at once that are
 * willing to wait (request_timeout 66 s) — no 60-second span of the upstream's arrivals holds more than 5 calls per
 * model, through either door. One file per door, so that the two minutes of waiting run side by side.
 */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { DOORS, type Door, pointAt } from './doors'
import { busiestWindow, writeConfiguration } from './helpers'

function configuration(): string {
  return writeConfiguration({
    '_registry.toml': '[task_groups]\nlimited_group = { file = "task-groups/limited-group.toml" }\n[wrappers]\nw = { file = "wrappers/w.toml" }\n',
    'task-groups/limited-group.toml': `[task_group]
name = "limited_group"
[task_group.fallback]
max_attempts = 2
retry_delay = 0
[task_group.echelons.main]
models = ["openai:model-a", "openai:model-b"]
rpm_limit = 5
max_retries = 0
`,
    'wrappers/w.toml': '[wrappers]\nlimited_wrapper = { type = "task_group", task_group_name = "limited_group" }\n[global]\nrequest_timeout = 66\n',
  }, 'rpm')
}

export function rpmAtUpstreamTest(name: keyof typeof DOORS): void {
  let upstream: MockUpstream
  let restore: () => void
  let door: Door

  beforeAll(async () => {
    upstream = await createMockUpstream({ recordBodies: false })
    restore = pointAt(upstream)
    door = await DOORS[name](configuration(), upstream)
  })
  afterAll(async () => {
    await door?.close()
    restore()
    await upstream.close()
  })

  test(`rpm_limit 5 through the ${name}: the upstream never sees more than 5 calls per model in 60 s`, { timeout: 120_000 }, async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        door.ask('limited_wrapper', `r${index}`).then(
          () => 'answered',
          (error: { code?: string; status?: number }) => String(error.code ?? error.status),
        ),
      ),
    )
    for (const model of ['model-a', 'model-b']) {
      const arrivals = upstream.requests({ model }).map((request) => request.arrivedAt)
      expect(busiestWindow(arrivals, 60_000)).toBeLessThanOrEqual(5)
      // The second minute's calls were made: the limit held by waiting, not by refusing everything.
      expect(arrivals.length).toBe(10)
    }
    expect(outcomes.filter((outcome) => outcome === 'answered')).toHaveLength(20)
    // The rest could not be served within their deadline: refused as rate limited (the gateway's 429).
    expect(outcomes.filter((outcome) => outcome !== 'answered').every((outcome) => outcome === 'rate_limited' || outcome === '429')).toBe(true)
  })
}
