import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
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
export const FAST_ROUTER = {
  healthChecks: false,
  retry: { baseDelayMs: 5, maxRetryDelayMs: 200 },
  requestTimeoutMs: 5_000,
} as const

/** A new configuration directory holding `files` (relative path → text). */
export function writeConfiguration(files: Record<string, string>, name = 'config'): string {
  const directory = mkdtempSync(path.join(tmpdir(), `llmpool-gateway-${name}-`))
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true })
    writeFileSync(path.join(directory, file), text)
  }
  return directory
}

/** The most of `times` (ms) in any span of `windowMs`: what an upstream counting per minute saw at worst. */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++
    most = Math.max(most, end - start)
  }
  return most
}

/**
 * Reads HTTP/1.1 messages framed by content-length (no header: no body) from raw socket data, for tests that speak
 * raw bytes: `push` each piece read; `message` hears every whole one in order. `bodyless(index)` says the message at
 * that index has no body whatever its head says (the answer to a HEAD).
 */
export function messageReader(
  message: (head: string, body: string) => void,
  bodyless: (index: number) => boolean = () => false,
): (data: Buffer) => void {
  let buffered = Buffer.alloc(0)
  let index = 0
  return (data) => {
    buffered = Buffer.concat([buffered, data])
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = buffered.toString('latin1', 0, end)
      const length = bodyless(index) ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
      if (buffered.length < end + 4 + length) return
      const body = buffered.toString('utf8', end + 4, end + 4 + length)
      buffered = buffered.subarray(end + 4 + length)
      index++
      message(head, body)
    }
  }
}
