/// <reference lib="dom" />
/**
 * The page in a real headless Chromium, against a real gateway (the `llmpool-gateway` bin, in its own process) in
 * front of the mock upstream: login, every instance, a breaker trip, a cooldown, reloads, keyboard and phone width.
 * Screenshots of each state go to test/artifacts/.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { buildPage } from '../scripts/build-page.mjs'
import { openBrowser, screenshot } from './chromium'
import { copyFixture, FIXTURE_INSTANCES, FIXTURE_KEYS } from './helpers'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const BIN = path.join(ROOT, 'packages/gateway/src/bin.ts')
const TOKEN = 'dashboard-browser-token-0123456789'

let upstream: MockUpstream
let directory: string
let gateway: ChildProcess
let output = ''
let url: string
let dashboard: string
const contexts: BrowserContext[] = []

beforeAll(async () => {
  await buildPage({ quiet: true })
  upstream = await createMockUpstream()
  directory = copyFixture()
  gateway = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@llmpool/source', BIN, '--config', directory, '--port', '0', '--watch'],
    {
      cwd: ROOT,
      env: { ...process.env, MOCK_URL: upstream.url, LLMPOOL_GATEWAY_TOKEN: TOKEN, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  gateway.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  const started = await new Promise<{ url: string; dashboard: string }>((resolve, reject) => {
    gateway.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      for (const line of output.split('\n')) {
        if (!line.includes('listening on')) continue
        const record = JSON.parse(line) as { url: string; dashboard: string }
        resolve(record)
      }
    })
    gateway.once('exit', (code) => reject(new Error(`the gateway exited with ${code}: ${output}`)))
  })
  url = started.url
  dashboard = started.dashboard
}, 60_000)

afterAll(async () => {
  for (const context of contexts) await context.close()
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.once('exit', resolve))
    gateway.kill('SIGTERM')
    await exited
  }
  await upstream?.close()
  // The token and the keys never reached the gateway's log lines.
  for (const secret of [TOKEN, ...FIXTURE_KEYS]) expect(output).not.toContain(secret)
})

async function open(options: { width: number; height: number; withToken: boolean }): Promise<Page> {
  const context = await openBrowser({
    viewport: { width: options.width, height: options.height },
    ...(options.withToken ? { headers: { authorization: `Bearer ${TOKEN}` } } : {}),
  })
  contexts.push(context)
  return context.pages()[0] ?? (await context.newPage())
}

/** A chat completion through the gateway, as any OpenAI client sends it. */
const chat = (model: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  }).then(async (response) => ({ status: response.status, body: await response.text() }))

const row = (instance: string) => `[data-instance="${instance}"]`

test('the gateway prints the dashboard URL when it starts', () => {
  expect(dashboard).toBe(`${url}/dashboard/`)
})

test('without the token: a login prompt and no data; the right token typed in opens it, never in the URL', async () => {
  const page = await open({ width: 1280, height: 800, withToken: false })
  const response = await page.goto(dashboard)
  expect(response!.status()).toBe(401)
  await page.waitForSelector('#token')
  expect(await page.locator('[data-instance]').count()).toBe(0)
  expect(await page.content()).not.toContain('main_group')
  await screenshot(page, 'login')

  await page.fill('#token', 'not-the-token')
  await page.click('button[type=submit]')
  await page.waitForSelector('#token-error')
  expect(await page.locator('[data-instance]').count()).toBe(0)
  await screenshot(page, 'login-refused')

  await page.fill('#token', TOKEN)
  await page.click('button[type=submit]')
  await page.waitForSelector(row(FIXTURE_INSTANCES[0]!))
  expect(page.url()).toBe(dashboard)
  expect(page.url()).not.toContain(TOKEN)
  expect(await page.content()).not.toContain(TOKEN)
})

describe('with the Authorization header, at 1280×800', () => {
  let page: Page
  beforeAll(async () => {
    page = await open({ width: 1280, height: 800, withToken: true })
    const response = await page.goto(dashboard)
    expect(response!.status()).toBe(200)
  })

  test('shows every instance of the configuration, with its figures once traffic flows', async () => {
    for (const instance of FIXTURE_INSTANCES) await page.waitForSelector(row(instance))
    const shown = await page
      .locator('[data-instance]')
      .evaluateAll((rows) => rows.map((element) => element.getAttribute('data-instance')))
    expect([...new Set(shown)].sort()).toEqual([...FIXTURE_INSTANCES].sort())
    for (let i = 0; i < 12; i++) expect((await chat('chat')).status).toBe(200)
    // The rates count complete seconds: within two ticks model-a shows requests per second above 0.
    await page.waitForFunction((selector) => {
      const cell = document.querySelector(`${selector} [data-label="req/s"]`)
      return cell !== null && cell.textContent !== '0' && cell.textContent !== '–'
    }, row('main_group.fast/openai:model-a'))
    await page.click(row('main_group.fast/openai:model-a'))
    await page.waitForSelector('#detail-title:text("main_group.fast/openai:model-a")')
    expect(await page.locator('.chart .uplot').count()).toBe(3)
    await screenshot(page, 'overview-1280')
    const html = await page.content()
    for (const key of FIXTURE_KEYS) expect(html).not.toContain(key)
  })

  test('shows a breaker trip within 3 s of injecting failures', async () => {
    const injected = Date.now()
    upstream.setFaults('flaky', { status: 500 })
    for (let i = 0; i < 2; i++) expect((await chat('flaky')).status).toBeGreaterThanOrEqual(500)
    const flaky = row('flaky_group.main/openai:flaky')
    await page.waitForSelector(`${flaky} [data-status="open"]`, {
      timeout: Math.max(1, 3000 - (Date.now() - injected)),
    })
    expect(await page.locator(`${flaky} [data-status="open"]`).textContent()).toMatch(/Open · trial \d+ s/)
    await page.waitForSelector('.event[data-type="breaker_open"]')
    // Filtered by its task group, the feed shows only its events.
    await page.selectOption('.events select', 'flaky_group')
    const texts = await page.locator('.event .event-text').allInnerTexts()
    expect(texts.length).toBeGreaterThan(0)
    for (const text of texts) expect(text).toContain('flaky')
    await page.click(flaky)
    await screenshot(page, 'breaker-open')
    await page.selectOption('.events select', '')
  })

  test('shows a cooldown after a 429', async () => {
    upstream.setFaults('limited', { status: 429, retryAfter: 30 })
    expect((await chat('limited')).status).toBeGreaterThanOrEqual(429)
    const limited = row('limited_group.main/openai:limited')
    await page.waitForSelector(`${limited} [data-status="cooldown"]`, { timeout: 3000 })
    expect(await page.locator(`${limited} [data-status="cooldown"]`).textContent()).toMatch(/Cooldown · \d+ s/)
    await page.waitForSelector('.event[data-type="cooldown"]')
    await page.click(limited)
    await screenshot(page, 'cooldown')
  })

  test('shows an accepted and a rejected reload in the history, with the diff and the problems', async () => {
    const file = path.join(directory, 'task-groups', 'main-group.toml')
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.replace('rpm_limit = 600', 'rpm_limit = 1200'))
    await page.waitForSelector('.history-record[data-status="applied"] >> nth=1', { timeout: 10_000 })
    writeFileSync(file, `${text}\n[task_group.echelons.fast\n`)
    await page.waitForSelector('.history-record[data-status="rejected"]', { timeout: 10_000 })
    const applied = page.locator('.history-record[data-status="applied"]').first()
    await applied.locator('summary').click()
    const diff = await applied.locator('.diff').innerText()
    expect(diff).toContain('task_groups.main_group.echelons.fast.rpm_limit')
    expect(diff).toContain('600')
    expect(diff).toContain('1200')
    expect(await page.locator('.history-record[data-status="rejected"] .problems').innerText()).toContain(
      'task-groups/main-group.toml',
    )
    expect(await page.locator('.event[data-type="reload_rejected"]').count()).toBe(1)
    await page.locator('#configuration-title').scrollIntoViewIfNeeded()
    await screenshot(page, 'history')
    await screenshot(page, 'overview-1280-full', true)
  })
})

test('at phone width: one column, no sideways scrolling, keyboard navigation selects an instance', async () => {
  const page = await open({ width: 390, height: 844, withToken: true })
  await page.goto(dashboard)
  for (const instance of FIXTURE_INSTANCES) await page.waitForSelector(row(instance))
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
  await page.focus('.tree summary')
  // Down through the wrapper, its pool, tier and echelon to the first instance, then Enter.
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown')
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-instance'))).toBe(
    'main_group.fast/openai:model-a',
  )
  await page.keyboard.press('Enter')
  await page.waitForSelector('#detail-title:text("main_group.fast/openai:model-a")')
  await screenshot(page, 'phone')
  await screenshot(page, 'phone-full', true)
})
