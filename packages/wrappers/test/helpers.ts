import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { MockUpstream } from '@llmpool/testing'
import { createLLMPool, type CreateLLMPoolOptions } from '../src/index'

// The openai-compatible provider warns that JSON schemas need structuredOutputs (generateObject tests); quiet.
;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false

export const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name)

/** A copy of a fixture directory that a test may edit. */
export function copyFixture(name: string): string {
  const directory = mkdtempSync(path.join(tmpdir(), `llmpool-wrappers-${name}-`))
  cpSync(fixture(name), directory, { recursive: true })
  return directory
}

/** A pool over a fixture whose echelons point at the mock upstream through `${MOCK_URL}`. */
export function openPool(upstream: MockUpstream, configDir: string, options: Partial<CreateLLMPoolOptions> = {}) {
  return createLLMPool({
    configDir,
    env: { MOCK_URL: upstream.url },
    watch: false,
    ...options,
    router: { healthChecks: false, ...options.router },
  })
}

/** Collects log lines, as a `logDestination`. */
export function logCollector() {
  const lines: string[] = []
  return {
    lines,
    write: (line: string) => void lines.push(line),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, any>),
  }
}
