/**
 * The design document's configuration under the faults production sees most, through both doors (the library and
 * the gateway), judged by what the upstream saw.
 */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { ANTHROPIC_KEY, CONFIGS_LLMS, chatCalls, DOORS, type Door, documentCopy, OPENAI_KEY, pointAt } from './doors'

let upstream: MockUpstream
let restore: () => void
let door: Door | undefined

beforeAll(async () => {
  upstream = await createMockUpstream({ recordBodies: false })
  restore = pointAt(upstream)
})
afterAll(async () => {
  restore()
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.clearKeyFaults()
  upstream.reset()
})
afterEach(async () => {
  await door?.close()
  door = undefined
  await upstream.whenIdle()
})

const GPT_4O = 'fast_group.echelon1/openai:gpt-4o'

describe.each(['library', 'gateway'] as const)('configs/llms through the %s', (name) => {
  const open = async (directory = CONFIGS_LLMS) => (door = await DOORS[name](directory, upstream))

  test('429 with Retry-After: 30 on gpt-4o rests it: no further call reaches it, and every request is answered', async () => {
    upstream.setFaults('gpt-4o', { status: 429, retryAfter: 30 })
    const door = await open()
    const started = Date.now()
    for (let index = 0; index < 12; index++) {
      const text = await door.ask('fast_group_wrapper', `question ${index}`, { stream: index % 3 === 2 })
      expect(text).toMatch(/^mock reply from claude-3-5-sonnet: question \d+$/)
    }
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(chatCalls(upstream, 'gpt-4o')).toBe(1)
    expect(chatCalls(upstream, 'claude-3-5-sonnet')).toBe(12)
    const gpt4o = (await door.state()).instances.find((instance) => instance.key === GPT_4O)!
    expect(gpt4o.cooldown).toMatchObject({ kind: 'rate_limit', reason: '429 rate limited (asked 30000 ms)' })
    expect(gpt4o.cooldown!.remainingMs).toBeGreaterThan(20_000)
  })

  test('a short Retry-After (1 s): the instance returns by itself and serves again', async () => {
    upstream.setFaults('gpt-4o', { status: 429, retryAfter: 1, times: 1 })
    const door = await open()
    await door.ask('fast_group_wrapper', 'first')
    expect(chatCalls(upstream, 'gpt-4o')).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    for (let index = 0; index < 4; index++) await door.ask('fast_group_wrapper', `later ${index}`)
    expect(chatCalls(upstream, 'gpt-4o')).toBe(3)
  })

  test('429 without Retry-After on gpt-4o: the request moves on at once (no 4 calls spent on gpt-4o)', async () => {
    upstream.setFaults('gpt-4o', { status: 429 })
    const door = await open()
    for (let index = 0; index < 4; index++)
      expect(await door.ask('fast_group_wrapper', `q${index}`)).toContain('claude-3-5-sonnet')
    expect(chatCalls(upstream, 'gpt-4o')).toBe(1)
  })

  test('an OpenAI outage (every openai model answers 503): every target is answered from Anthropic', async () => {
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4', 'gpt-3.5-turbo']) upstream.setFaults(model, { status: 503 })
    const door = await open()
    const targets = [
      'fast_pool_wrapper',
      'thinking_pool_wrapper',
      'plan_pool_wrapper',
      'fast_group_wrapper',
      'thinking_group_wrapper',
      'plan_group_wrapper',
      'execute_group_wrapper',
    ]
    for (const target of targets) {
      for (let index = 0; index < 3; index++) {
        const text = await door.ask(target, `${target} ${index}`, { stream: index === 2 })
        expect(text).toMatch(/^mock reply from claude-[\w.-]+: /)
      }
    }
    const openai = ['gpt-4o', 'gpt-4o-mini', 'gpt-4', 'gpt-3.5-turbo'].reduce(
      (sum, model) => sum + chatCalls(upstream, model),
      0,
    )
    // Failed calls stop once the breakers open and the health marks them out: far fewer than one per request.
    expect(openai).toBeLessThan(targets.length * 3)
  })

  test('an error in a 200 answer (JSON or streamed) is a failure of that instance: the request fails over', async () => {
    upstream.setFaults('gpt-4o', { errorInBody: true })
    const door = await open()
    for (let index = 0; index < 4; index++) {
      expect(await door.ask('fast_group_wrapper', `e${index}`, { stream: index % 2 === 0 })).toMatch(
        /^mock reply from claude-3-5-sonnet: e\d$/,
      )
    }
    expect(chatCalls(upstream, 'gpt-4o')).toBeGreaterThanOrEqual(1)
  })

  test('key rotation: traffic spreads over the keys of api_keys, and a key answered 401 drops out with its reason', async () => {
    const directory = documentCopy({
      'task-groups/fast-group.toml': [
        [
          /models = \["openai:gpt-4o", "anthropic:claude-3-5-sonnet"\]/,
          'models = ["openai:gpt-4o"]\napi_keys = ["${KEY_A}", "${KEY_B}", "${KEY_C}"]',
        ],
      ],
    })
    process.env.KEY_A = 'sk-key-a-000000000001'
    process.env.KEY_B = 'sk-key-b-000000000002'
    process.env.KEY_C = 'sk-key-c-000000000003'
    upstream.setKeyFaults('sk-key-b-000000000002', { status: 401 })
    const door = await DOORS[name](directory, upstream)
    try {
      for (let index = 0; index < 9; index++)
        expect(await door.ask('fast_group_wrapper', `k${index}`)).toContain('gpt-4o')
      const byKey = upstream.stats().keys
      expect(byKey['sk-key-b-000000000002']!.arrivals).toBe(1)
      expect(byKey['sk-key-a-000000000001']!.arrivals).toBeGreaterThanOrEqual(4)
      expect(byKey['sk-key-c-000000000003']!.arrivals).toBeGreaterThanOrEqual(4)
      const second = (await door.state()).instances.find(
        (instance) => instance.key === 'fast_group.echelon1/openai:gpt-4o#2',
      )!
      expect(second.cooldown).toMatchObject({ kind: 'auth', reason: '401 the key was refused' })
      const seen = JSON.stringify(await door.state()) + door.logs.join('\n')
      for (const key of [
        'sk-key-a-000000000001',
        'sk-key-b-000000000002',
        'sk-key-c-000000000003',
        OPENAI_KEY,
        ANTHROPIC_KEY,
      ])
        expect(seen).not.toContain(key)
    } finally {
      await door.close()
      for (const key of ['KEY_A', 'KEY_B', 'KEY_C']) delete process.env[key]
    }
  })

  test('hedging (fast_group hedge_after = 0.3): the faster instance wins and the slower call is aborted', async () => {
    const directory = documentCopy({
      'task-groups/fast-group.toml': [['retry_delay = 1.0', 'retry_delay = 1.0\nhedge_after = 0.3']],
    })
    upstream.setFaults('gpt-4o', { latencyMs: 3000 })
    const door = await open(directory)
    const hedges: unknown[] = []
    door.router.on((event) => event.type === 'hedge' && hedges.push(event))
    const started = Date.now()
    // Round robin starts at gpt-4o for the first request: it is slow, so claude is called too after 0.3 s.
    expect(await door.ask('fast_group_wrapper', 'hedged')).toBe('mock reply from claude-3-5-sonnet: hedged')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(hedges).toEqual([
      expect.objectContaining({ from: GPT_4O, to: 'fast_group.echelon1/anthropic:claude-3-5-sonnet', afterMs: 300 }),
    ])
    await upstream.whenIdle()
    expect(upstream.stats().models['gpt-4o']).toMatchObject({ arrivals: 1, aborted: 1 })
    expect(door.router.metrics!.snapshot().taskGroups.fast_group).toMatchObject({ hedges: 1 })
  })
})
