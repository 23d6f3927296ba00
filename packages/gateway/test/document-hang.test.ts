/**
 * gpt-4o hangs, on configs/llms as written: every request is answered by another instance within echelon1's
 * timeout (30 s) plus a small margin, and once the hung instance is out (three timeouts: fast_pool's
 * health_check.failure_threshold), later requests are fast and never reach it. Both doors at once, on one mock
 * upstream, so that the two 30-second waits overlap; the upstream tells their calls apart by how they came (the
 * library through the AI SDK's openai provider, the gateway through its pass-through).
 */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { CONFIGS_LLMS, DOORS, type Door, pointAt } from './doors'

let upstream: MockUpstream
let restore: () => void
const doors: Door[] = []

beforeAll(async () => {
  upstream = await createMockUpstream({ recordBodies: false })
  restore = pointAt(upstream)
  upstream.setFaults('gpt-4o', { hang: true })
  doors.push(await DOORS.library(CONFIGS_LLMS, upstream), await DOORS.gateway(CONFIGS_LLMS, upstream))
})
afterAll(async () => {
  await Promise.all(doors.map((door) => door.close()))
  restore()
  await upstream.close()
})

/** gpt-4o's calls made through one door: the library's carry the AI SDK's user agent, the gateway's do not. */
const gpt4oCalls = (name: Door['name']) =>
  upstream
    .requests({ model: 'gpt-4o' })
    .filter((request) => String(request.headers['user-agent'] ?? '').includes('ai-sdk') === (name === 'library'))

async function hangingModel(door: Door): Promise<void> {
  const name = door.name
  // Six at once: round robin sends three of them to gpt-4o first.
  const first = await Promise.all(
    Array.from({ length: 6 }, async (_, index) => {
      const started = Date.now()
      // The gateway's streams go through the AI SDK too, and its calls must read as the gateway's: it asks JSON only.
      const text = await door.ask('fast_group_wrapper', `hang ${index}`, {
        stream: name === 'library' && index % 2 === 1,
      })
      return { text, ms: Date.now() - started }
    }),
  )
  for (const { text, ms } of first) {
    expect(text).toMatch(/^mock reply from claude-3-5-sonnet: hang \d$/)
    expect(ms).toBeLessThan(30_000 + 3_000)
  }
  expect(first.filter(({ ms }) => ms >= 29_000)).toHaveLength(3)
  expect(gpt4oCalls(name), name).toHaveLength(3)
  const hung = (await door.state()).instances.find(
    (instance) => instance.key === 'fast_group.echelon1/openai:gpt-4o',
  ) as unknown as { health: { healthy: boolean } }
  expect(hung.health.healthy).toBe(false)
  for (let index = 0; index < 6; index++) {
    const started = Date.now()
    expect(await door.ask('fast_group_wrapper', `after ${index}`)).toMatch(/^mock reply from claude-3-5-sonnet/)
    expect(Date.now() - started).toBeLessThan(2_000)
  }
  expect(gpt4oCalls(name), name).toHaveLength(3)
}

test("a hanging gpt-4o, through the library and the gateway: answered within echelon1's timeout + margin, then fast without it", {
  timeout: 90_000,
}, async () => {
  await Promise.all(doors.map((door) => hangingModel(door)))
  await upstream.whenIdle()
  // The hung calls were aborted when their attempt timed out: nothing is left hanging at the upstream.
  expect(upstream.stats().models['gpt-4o']).toMatchObject({ arrivals: 6, aborted: 6 })
})
