import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it): never a browser downloaded by Playwright. */
export const CHROMIUM = '/usr/bin/chromium'

/** Where the browser tests save their screenshots (git-ignored). */
export const ARTIFACTS = path.join(import.meta.dirname, 'artifacts')

/** A headless Chromium with a fresh profile of its own, removed on close. */
export async function openBrowser(options: {
  viewport: { width: number; height: number }
  headers?: Record<string, string>
}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`,
    )
  mkdirSync(ARTIFACTS, { recursive: true })
  const profile = mkdtempSync(path.join(tmpdir(), 'llmpool-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: options.viewport,
    ...(options.headers ? { extraHTTPHeaders: options.headers } : {}),
  })
  // Chromium may still be writing its cache as it exits: the profile goes after a close, retried, never failing a test.
  context.once('close', () =>
    setTimeout(() => rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }), 200).unref(),
  )
  return context
}

/** Saves a screenshot of the page as `test/artifacts/<name>.png`. */
export const screenshot = (
  page: { screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown> },
  name: string,
  fullPage = false,
) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage })
