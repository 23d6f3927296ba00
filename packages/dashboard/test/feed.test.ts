/** What the data feed sends for a given router state: the tree, the instances, figures, events, history, ticks. */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { type ConfigStore, createConfigStore } from '@llmpool/config'
import { Router } from '@llmpool/router'
import { createMockUpstream, FakeClock, type MockUpstream } from '@llmpool/testing'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { DashboardFeed, type HelloMessage, type TickMessage, type TreeNode } from '../src/index'
import { copyFixture, FIXTURE_INSTANCES, FIXTURE_KEYS, parseEvents, prompt } from './helpers'

let upstream: MockUpstream
beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

interface Setup {
  clock: FakeClock
  directory: string
  store: ConfigStore
  router: Router
  feed: DashboardFeed
}
const open: Setup[] = []
afterEach(async () => {
  for (const setup of open.splice(0)) {
    setup.feed.close()
    await setup.router.dispose()
    await setup.store.dispose()
  }
})

async function setup(options: { intervalMs?: number } = {}): Promise<Setup> {
  const clock = new FakeClock(1_700_000_000_000)
  const directory = copyFixture()
  const store = await createConfigStore({ directory, env: { MOCK_URL: upstream.url }, watch: false, clock })
  const router = new Router({ config: store, healthChecks: false, clock })
  const feed = new DashboardFeed({ router, store, clock, ...options })
  const made = { clock, directory, store, router, feed }
  open.push(made)
  return made
}

/** A node of the tree by kind and name, anywhere. */
function find(nodes: TreeNode[], kind: TreeNode['kind'], name: string): TreeNode | undefined {
  for (const node of nodes) {
    if (node.kind === kind && node.name === name) return node
    const inside = find(node.children ?? [], kind, name)
    if (inside) return inside
  }
  return undefined
}

describe('the hello message', () => {
  test('has the targets as a tree: wrappers → pools → tiers → group.echelon → instances, keys under their model', async () => {
    const { feed } = await setup()
    const hello = await feed.hello()
    // Every target a wrapper calls sits under that wrapper, not again at the top.
    // Task groups held by a pool shown above do not stand at the top again.
    expect(hello.tree.map((node) => `${node.kind}:${node.name}`)).toEqual([
      'wrapper:chat',
      'wrapper:flaky',
      'wrapper:limited',
    ])
    const chat = hello.tree[0]!
    expect(chat.detail).toBe('→ main_pool')
    const pool = chat.children![0]!
    expect(pool).toMatchObject({ kind: 'pool', name: 'main_pool', detail: 'round_robin' })
    expect(pool.children!.map((tier) => tier.label)).toEqual(['tier 1', 'tier 2'])
    const [first, second] = pool.children!
    expect(first!.children!.map((echelon) => echelon.name)).toEqual(['main_group.fast'])
    expect(first!.children![0]!.children!.map((instance) => instance.instance)).toEqual([
      'main_group.fast/openai:model-a',
      'main_group.fast/openai:model-b',
    ])
    const rotating = find(second!.children!, 'model', 'backup_group.slow/openai:model-c')!
    expect(rotating.children!.map((key) => [key.label, key.instance])).toEqual([
      ['key 1', 'backup_group.slow/openai:model-c#1'],
      ['key 2', 'backup_group.slow/openai:model-c#2'],
    ])
    expect(find(hello.tree, 'task_group', 'flaky_group')!.children![0]!.children![0]!.instance).toBe(
      'flaky_group.main/openai:flaky',
    )
  })

  test('has every instance with its breaker, health, cooldown, limits and figures, the configuration and its first load', async () => {
    const { feed, store } = await setup()
    const hello = await feed.hello()
    expect(hello.instances.map((instance) => instance.key).sort()).toEqual([...FIXTURE_INSTANCES].sort())
    const a = hello.instances.find((instance) => instance.key === 'main_group.fast/openai:model-a')!
    expect(a).toMatchObject({
      group: 'main_group',
      echelon: 'fast',
      model: 'openai:model-a',
      status: 'ok',
      breaker: { state: 'closed', failures: 0 },
      health: { healthy: true, retryAfterMs: 0 },
      limits: { rpm: { available: 600, limit: 600 }, concurrency: { available: 20, limit: 20 } },
      inFlight: 0,
      window: { requestsPerSecond: 0, errorRate: 0, inputTokens: 0, outputTokens: 0 },
    })
    expect(a.cooldown).toBeUndefined()
    expect(a.window.p50Ms).toBeUndefined()
    expect(hello.pools).toEqual([{ name: 'main_pool', limit: { kind: 'token_bucket', available: 1000, limit: 1000 } }])
    expect(hello.configuration).toEqual({ hash: store.current.source.hash, version: '1.0.0' })
    expect(hello.history).toEqual([
      expect.objectContaining({
        status: 'applied',
        trigger: 'initial',
        hash: store.current.source.hash,
        version: '1.0.0',
        summary: [],
      }),
    ])
    expect(hello).toMatchObject({ intervalMs: 1000, historySeconds: 900, series: [], events: [] })
  })

  test('has per-second figures (requests, failures, latency, tokens) and rates over the last minute', async () => {
    const { feed, router, clock } = await setup()
    upstream.setFaults('model-b', { status: 500 })
    for (let i = 0; i < 4; i++) await router.generate('main_group', prompt)
    await clock.advance(1000)
    const hello = await feed.hello()
    const a = hello.instances.find((instance) => instance.key === 'main_group.fast/openai:model-a')!
    const b = hello.instances.find((instance) => instance.key === 'main_group.fast/openai:model-b')!
    // model-a answered all four (model-b failed each time it was tried and the request fell back to model-a).
    expect(a.window.requestsPerSecond).toBeCloseTo(4 / 60, 3)
    expect(a.window.errorRate).toBe(0)
    expect(a.window.p50Ms).toBeGreaterThanOrEqual(0)
    expect(a.window.inputTokens).toBeGreaterThan(0)
    expect(a.window.outputTokens).toBeGreaterThan(0)
    expect(b.window.errorRate).toBe(1)
    expect(hello.series).toHaveLength(1)
    const [point] = hello.series
    expect(point!.t).toBe(1_700_000_000_000)
    const [requests, errors, p50, p99, inputTokens, outputTokens] = point!.values['main_group.fast/openai:model-a']!
    expect([requests, errors]).toEqual([4, 0])
    expect(p50).not.toBeNull()
    expect(p99).not.toBeNull()
    expect(inputTokens).toBeGreaterThan(0)
    expect(outputTokens).toBeGreaterThan(0)
    expect(point!.values['main_group.fast/openai:model-b']![1]).toBeGreaterThan(0)
  })
})

describe('events', () => {
  test('fallbacks, breaker trips and cooldowns in words, with their target and instance', async () => {
    const { feed, router } = await setup()
    upstream.setFaults('model-a', { status: 500 })
    upstream.setFaults('flaky', { status: 500 })
    upstream.setFaults('limited', { status: 429, retryAfter: 30 })
    await router.generate('main_group', prompt)
    await router.generate('main_group', prompt)
    for (let i = 0; i < 2; i++) await expect(router.generate('flaky_group', prompt)).rejects.toThrow()
    await expect(router.generate('limited_group', prompt)).rejects.toThrow()
    const hello = await feed.hello()
    const events = hello.events.map((event) => ({
      type: event.type,
      level: event.level,
      target: event.target,
      instance: event.instance,
    }))
    expect(events).toContainEqual({
      type: 'fallback',
      level: 'warn',
      target: 'main_group',
      instance: 'main_group.fast/openai:model-a',
    })
    expect(events).toContainEqual({
      type: 'breaker_open',
      level: 'error',
      target: undefined,
      instance: 'flaky_group.main/openai:flaky',
    })
    expect(events).toContainEqual({
      type: 'cooldown',
      level: 'warn',
      target: undefined,
      instance: 'limited_group.main/openai:limited',
    })
    expect(events).toContainEqual({
      type: 'request_failed',
      level: 'error',
      target: 'flaky_group',
      instance: undefined,
    })
    const cooldown = hello.events.find((event) => event.type === 'cooldown')!
    expect(cooldown.text).toMatch(/^limited_group\.main\/openai:limited rests 30 s \(rate_limit: 429/)
    // The states say the same: the flaky breaker open with the time to its trial, the limited instance resting.
    const flaky = hello.instances.find((instance) => instance.key === 'flaky_group.main/openai:flaky')!
    expect(flaky.status).toBe('open')
    expect(flaky.breaker.nextTrialInMs).toBe(60_000)
    const limited = hello.instances.find((instance) => instance.key === 'limited_group.main/openai:limited')!
    expect(limited).toMatchObject({ status: 'cooldown', cooldown: { kind: 'rate_limit', remainingMs: 30_000 } })
    expect(hello.events.map((event) => event.seq)).toEqual(hello.events.map((_, index) => index + 1))
  })
})

describe('the ticker', () => {
  test('one snapshot per interval whatever the number of pages, the same text to each; none while no page is connected', async () => {
    const { feed, router, clock } = await setup()
    await router.generate('main_group', prompt)
    await clock.advance(5_000)
    expect(feed.snapshots).toBe(0)
    const pages = Array.from({ length: 5 }, () => ({ text: '' }))
    const subscriptions = await Promise.all(pages.map((page) => feed.connect((chunk) => void (page.text += chunk))))
    expect(feed.clientCount).toBe(5)
    // The five hellos share one snapshot.
    expect(feed.snapshots).toBe(1)
    await clock.advance(1000)
    // Round robin: one of the two requests starts on model-a, fails, and falls back to model-b.
    upstream.setFaults('model-a', { status: 500 })
    await router.generate('main_group', prompt)
    await router.generate('main_group', prompt)
    await clock.advance(1000)
    await clock.advance(1000)
    expect(feed.snapshots).toBe(4)
    const messages = pages.map((page) => parseEvents(page.text))
    for (const page of messages) expect(page.map((message) => message.event)).toEqual(['hello', 'tick', 'tick', 'tick'])
    // Each page got the same ticks (the hellos were made at the same time too).
    for (const page of pages)
      expect(page.text.slice(page.text.indexOf('event: tick'))).toBe(
        pages[0]!.text.slice(pages[0]!.text.indexOf('event: tick')),
      )
    const [hello, ...ticks] = messages[0]! as unknown as [{ data: HelloMessage }, ...{ data: TickMessage }[]]
    // The figures of the second before the hello came in the hello; each tick brings the seconds completed since.
    expect(hello.data.series.map((point) => point.t)).toEqual([1_700_000_000_000])
    expect(ticks.flatMap((tick) => tick.data.points.map((point) => point.t))).toEqual([1_700_000_006_000])
    expect(ticks.flatMap((tick) => tick.data.events.map((event) => event.type))).toEqual(['fallback'])
    for (const tick of ticks) expect(tick.data.tree).toBeUndefined()

    for (const subscription of subscriptions) subscription.dispose()
    expect(feed.clientCount).toBe(0)
    await clock.advance(10_000)
    expect(feed.snapshots).toBe(4)
  })

  test('a reload sends the new tree and history; the page sees applied and rejected reloads', async () => {
    const { feed, store, directory, clock } = await setup()
    let text = ''
    await feed.connect((chunk) => void (text += chunk))
    const file = path.join(directory, 'task-groups', 'main-group.toml')
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('models = ["openai:model-a", "openai:model-b"]', 'models = ["openai:model-a", "openai:model-d"]')
        .replace('rpm_limit = 600', 'rpm_limit = 1200'),
    )
    expect((await store.reload()).status).toBe('applied')
    await clock.advance(1000)
    writeFileSync(file, 'this is not toml = = =\n')
    expect((await store.reload()).status).toBe('rejected')
    await clock.advance(1000)
    const ticks = parseEvents(text).filter((message) => message.event === 'tick') as { data: TickMessage }[]
    const [applied, rejected] = ticks
    expect(find(applied!.data.tree!, 'instance', 'main_group.fast/openai:model-d')).toBeDefined()
    expect(find(applied!.data.tree!, 'instance', 'main_group.fast/openai:model-b')).toBeUndefined()
    expect(applied!.data.events.map((event) => event.type)).toEqual(['reload_applied'])
    expect(applied!.data.events[0]!.text).toBe('configuration reloaded (manual): ~ task_groups.main_group')
    const record = applied!.data.history!.at(-1)!
    expect(record).toMatchObject({ status: 'applied', trigger: 'manual', summary: ['~ task_groups.main_group'] })
    expect(record.changes).toEqual(
      expect.arrayContaining([
        {
          path: 'task_groups.main_group.echelons.fast.models[1]',
          before: '"openai:model-b"',
          after: '"openai:model-d"',
        },
        { path: 'task_groups.main_group.echelons.fast.rpm_limit', before: '600', after: '1200' },
      ]),
    )
    expect(rejected!.data.tree).toBeUndefined()
    expect(rejected!.data.events[0]!.type).toBe('reload_rejected')
    expect(rejected!.data.events[0]!.text).toMatch(
      /^reload rejected \(manual\), the configuration in force stays: task-groups\/main-group\.toml:1 /,
    )
    const last = rejected!.data.history!.at(-1)!
    expect(last).toMatchObject({ status: 'rejected', trigger: 'manual' })
    expect(last.problems![0]).toMatchObject({ file: 'task-groups/main-group.toml', line: 1 })
    expect(rejected!.data.configuration.hash).toBe(applied!.data.configuration.hash)
  })
})

test('no API key in anything the feed sends, also when a reload changes one', async () => {
  const { feed, store, directory, router, clock } = await setup()
  let text = ''
  await feed.connect((chunk) => void (text += chunk))
  upstream.setFaults('flaky', { status: 401 })
  await expect(router.generate('flaky_group', prompt)).rejects.toThrow()
  await router.generate('chat', prompt)
  const file = path.join(directory, 'task-groups', 'backup-group.toml')
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('sk-dashboard-rotating-two-4567', 'sk-dashboard-rotating-new-8901'),
  )
  expect((await store.reload()).status).toBe('applied')
  await clock.advance(2000)
  text += JSON.stringify(await feed.hello())
  const history = (await feed.hello()).history.at(-1)!
  // The changed key shows as changed, without either value.
  expect(history.changes).toContainEqual({ path: 'task_groups.backup_group.echelons.slow.api_keys' })
  for (const key of [...FIXTURE_KEYS, 'sk-dashboard-rotating-new-8901']) expect(text).not.toContain(key)
  expect(text).toContain('flaky_group.main/openai:flaky')
})
