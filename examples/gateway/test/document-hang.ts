/**
 * gpt-4o hangs, on configs/llms as written: every request is answered by another instance within echelon1's
 * timeout (30 s) plus a small margin, and once the hung instance is out (three timeouts: fast_pool's
 * health_check.failure_threshold), later requests are fast and never reach it. One file per door, so that the two
 * 30-second waits run side by side.
 */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { CONFIGS_LLMS, chatCalls, DOORS, type Door, pointAt } from './doors'

export function hangingModelTest(name: keyof typeof DOORS): void {
  let upstream: MockUpstream
  let restore: () => void
  let door: Door

  beforeAll(async () => {
    upstream = await createMockUpstream({ recordBodies: false })
    restore = pointAt(upstream)
    upstream.setFaults('gpt-4o', { hang: true })
    door = await DOORS[name](CONFIGS_LLMS, upstream)
  })
  afterAll(async () => {
    await door?.close()
    restore()
    await upstream.close()
  })

  test(`a hanging gpt-4o through the ${name}: answered within echelon1's timeout + margin, then fast without it`, { timeout: 90_000 }, async () => {
    // Six at once: round robin sends three of them to gpt-4o first.
    const first = await Promise.all(
      Array.from({ length: 6 }, async (_, index) => {
        const started = Date.now()
        const text = await door.ask('fast_group_wrapper', `hang ${index}`, { stream: index % 2 === 1 })
        return { text, ms: Date.now() - started }
      }),
    )
    for (const { text, ms } of first) {
      expect(text).toMatch(/^mock reply from claude-3-5-sonnet: hang \d$/)
      expect(ms).toBeLessThan(30_000 + 3_000)
    }
    expect(first.filter(({ ms }) => ms >= 29_000)).toHaveLength(3)
    expect(chatCalls(upstream, 'gpt-4o')).toBe(3)
    const hung = (await door.state()).instances.find((instance) => instance.key === 'fast_group.echelon1/openai:gpt-4o') as unknown as { health: { healthy: boolean } }
    expect(hung.health.healthy).toBe(false)
    for (let index = 0; index < 6; index++) {
      const started = Date.now()
      expect(await door.ask('fast_group_wrapper', `after ${index}`)).toMatch(/^mock reply from claude-3-5-sonnet/)
      expect(Date.now() - started).toBeLessThan(2_000)
    }
    expect(chatCalls(upstream, 'gpt-4o')).toBe(3)
    await upstream.whenIdle()
    // The hung calls were aborted when their attempt timed out: nothing is left hanging at the upstream.
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ arrivals: 3, aborted: 3 })
  })
}
