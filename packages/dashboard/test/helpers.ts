import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** The dashboard tests' configuration (a pool of two groups, a group with rotating keys, a flaky and a rate-limited group). */
export const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'dashboard')

/** The API keys written in the fixture: none may reach anything the dashboard sends. */
export const FIXTURE_KEYS = [
  'sk-dashboard-secret-0123456789',
  'sk-dashboard-rotating-one-0123',
  'sk-dashboard-rotating-two-4567',
]

/** Every instance of the fixture. */
export const FIXTURE_INSTANCES = [
  'main_group.fast/openai:model-a',
  'main_group.fast/openai:model-b',
  'backup_group.slow/openai:model-c#1',
  'backup_group.slow/openai:model-c#2',
  'flaky_group.main/openai:flaky',
  'limited_group.main/openai:limited',
]

/** A copy of the fixture that a test may edit. */
export function copyFixture(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-dashboard-'))
  cpSync(FIXTURE, directory, { recursive: true })
  return directory
}

/** A chat prompt in the AI SDK's shape. */
export const prompt = { prompt: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] }] }

/** Server-sent events, parsed: `{ event, data }` for each complete message in `text`. */
export function parseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n')
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message'
      const data = lines
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('')
      return { event, data: JSON.parse(data) as unknown }
    })
}
