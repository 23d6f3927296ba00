import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'gateway')

/** A copy of the test configuration that a test may edit. */
export function copyFixture(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-gateway-'))
  cpSync(FIXTURE, directory, { recursive: true })
  return directory
}

/** Test-speed router settings: no probes, short backoff. */
export const FAST_ROUTER = { healthChecks: false, retry: { baseDelayMs: 5, maxRetryDelayMs: 200 }, requestTimeoutMs: 5_000 } as const
