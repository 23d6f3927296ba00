/**
 * The design document's configuration (configs/llms, or a copy with small edits) with every echelon pointed at the
 * mock upstream the way a user would point it anywhere — `OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL` — and the two
 * doors a user has: the library (`createLLMPool` + the AI SDK's `generateText` / `streamText`) and the gateway over
 * HTTP (the official `openai` client).
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Router } from '@llmpool/router'
import type { MockUpstream } from '@llmpool/testing'
import { createLLMPool } from '@llmpool/wrappers'
import { generateText, streamText } from 'ai'
import OpenAI from 'openai'
import { startGateway } from '../src/index'

export const CONFIGS_LLMS = path.resolve(import.meta.dirname, '../../../configs/llms')
export const OPENAI_KEY = 'sk-test-doors-openai-0123456789'
export const ANTHROPIC_KEY = 'sk-ant-test-doors-0123456789'

/** A copy of configs/llms with `edits` (file → text replacements) applied. */
export function documentCopy(edits: Record<string, [string | RegExp, string][]> = {}): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'llmpool-document-'))
  cpSync(CONFIGS_LLMS, directory, { recursive: true })
  for (const [file, replacements] of Object.entries(edits)) {
    const target = path.join(directory, file)
    let text = readFileSync(target, 'utf8')
    for (const [from, to] of replacements) {
      const next = text.replace(from, to)
      if (next === text) throw new Error(`edit of ${file} did not apply: ${String(from)}`)
      text = next
    }
    writeFileSync(target, text)
  }
  return directory
}

/** Points the AI SDK providers (and the gateway's pass-through) at the mock, as a user would with their env. */
export function pointAt(upstream: MockUpstream): () => void {
  const saved = { ...process.env }
  process.env.OPENAI_BASE_URL = `${upstream.url}/v1`
  process.env.ANTHROPIC_BASE_URL = `${upstream.url}/v1`
  process.env.OPENAI_API_KEY = OPENAI_KEY
  process.env.ANTHROPIC_API_KEY = ANTHROPIC_KEY
  return () => {
    for (const key of ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) {
      if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
  }
}

/** Log lines, collected. */
export function logLines() {
  const lines: string[] = []
  return { lines, write: (line: string) => void lines.push(line) }
}

/** One way in: answer a prompt through a wrapper, pool or task group, as JSON or as a stream. */
export interface Door {
  name: 'library' | 'gateway'
  ask(model: string, prompt: string, options?: { stream?: boolean }): Promise<string>
  router: Router
  /** What the operator sees: `router.state()`, or the gateway's `/admin/state`. */
  state(): Promise<{ instances: { key: string; cooldown?: { kind: string; remainingMs: number; reason: string } }[] }>
  logs: string[]
  close(): Promise<void>
}

/** The configuration's variables: `execute_group` reads OPENAI_BASE_URL and OPENAI_API_KEY from it. */
const configEnv = (upstream: MockUpstream) => ({
  ...process.env,
  OPENAI_BASE_URL: `${upstream.url}/v1`,
  OPENAI_API_KEY: OPENAI_KEY,
})

export async function libraryDoor(configDir: string, upstream: MockUpstream): Promise<Door> {
  const logs = logLines()
  const pool = await createLLMPool({ configDir, env: configEnv(upstream), watch: false, logDestination: logs })
  return {
    name: 'library',
    router: pool.router,
    logs: logs.lines,
    async ask(model, prompt, options = {}) {
      if (!options.stream) return (await generateText({ model: pool.model(model), prompt, maxRetries: 0 })).text
      const errors: unknown[] = []
      const result = streamText({
        model: pool.model(model),
        prompt,
        maxRetries: 0,
        onError: ({ error }) => void errors.push(error),
      })
      const text = await Promise.resolve(result.text).catch((error: unknown) => {
        throw errors[0] ?? error
      })
      if (errors.length > 0) throw errors[0]
      return text
    },
    state: () => pool.router.state() as ReturnType<Door['state']>,
    close: () => pool.dispose(),
  }
}

export async function gatewayDoor(configDir: string, upstream: MockUpstream): Promise<Door> {
  const logs = logLines()
  const gateway = await startGateway({
    config: configDir,
    env: configEnv(upstream),
    watch: false,
    logDestination: logs,
  })
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 })
  return {
    name: 'gateway',
    router: gateway.router,
    logs: logs.lines,
    async ask(model, prompt, options = {}) {
      const messages = [{ role: 'user' as const, content: prompt }]
      if (!options.stream)
        return (await client.chat.completions.create({ model, messages })).choices[0]!.message.content ?? ''
      let text = ''
      for await (const chunk of await client.chat.completions.create({ model, messages, stream: true }))
        text += chunk.choices[0]?.delta.content ?? ''
      return text
    },
    async state() {
      return (await (await fetch(`${gateway.url}/admin/state`)).json()) as Awaited<ReturnType<Door['state']>>
    },
    close: () => gateway.close(),
  }
}

export const DOORS = { library: libraryDoor, gateway: gatewayDoor } as const

/** Chat completions the upstream received for `model` (not health probes). */
export const chatCalls = (upstream: MockUpstream, model: string) =>
  upstream
    .requests({ model })
    .filter((request) => request.path.endsWith('/chat/completions') || request.path.endsWith('/messages')).length
