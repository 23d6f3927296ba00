import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createMockUpstream, InvalidFaultsError, loadFaultsFile, parseFaultsFile, runMockUpstream } from '../src/index'

const fixture = (path: string) => fileURLToPath(new URL(`fixtures/${path}`, import.meta.url))

const expected = {
  seed: 42,
  models: ['gpt-4o', 'claude-haiku-4-5'],
  replies: { 'fixed-model': 'always this' },
  faults: {
    'gpt-4o': [{ status: 429, retryAfter: 2, times: 3 }, { latencyMs: 20 }],
    'flaky-model': [{ sequence: [{ status: 500 }, 'ok', { errorInBody: true }] }],
    '*': [{ streamCutAfterChunks: 1, rate: 0 }],
  },
  keyFaults: {
    'sk-revoked': [{ status: 401 }],
    'sk-busy': [
      {
        status: 429,
        times: 2,
        headers: { 'x-ratelimit-reset-requests': '6m0s', 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' },
      },
    ],
  },
}

/** A Chat Completions request carrying `apiKey` as a bearer token. */
const chat = (url: string, model: string, apiKey?: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model, messages: [] }),
  })

describe('faults files', () => {
  it('TOML (snake_case keys) and JSON (camelCase keys) load to the same faults', async () => {
    expect(await loadFaultsFile(fixture('faults-toml/faults.toml'))).toEqual(expected)
    expect(await loadFaultsFile(fixture('faults-json/faults.json'))).toEqual(expected)
  })

  it('spreads into createMockUpstream()', async () => {
    const upstream = await createMockUpstream({ ...(await loadFaultsFile(fixture('faults-toml/faults.toml'))) })
    try {
      const send = async (model: string) => {
        const response = await fetch(`${upstream.url}/v1/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model, messages: [] }),
        })
        return { status: response.status, body: (await response.json()) as Record<string, unknown> }
      }
      expect((await send('gpt-4o')).status).toBe(429)
      expect((await send('flaky-model')).status).toBe(500)
      expect((await send('flaky-model')).status).toBe(200)
      expect((await send('flaky-model')).body).toHaveProperty('error')
      expect((await send('fixed-model')).body).toMatchObject({ choices: [{ message: { content: 'always this' } }] })
      const models = (await (await fetch(`${upstream.url}/v1/models`)).json()) as { data: { id: string }[] }
      expect(models.data.map((model) => model.id)).toEqual(
        expect.arrayContaining(['gpt-4o', 'claude-haiku-4-5', 'fixed-model']),
      )
      const revoked = await chat(upstream.url, 'fixed-model', 'sk-revoked')
      expect(revoked.status).toBe(401)
      expect(await revoked.json()).toMatchObject({ error: { code: 'invalid_api_key' } })
      const busy = await chat(upstream.url, 'fixed-model', 'sk-busy')
      expect(busy.status).toBe(429)
      expect(busy.headers.get('x-ratelimit-reset-requests')).toBe('6m0s')
      expect(busy.headers.get('retry-after')).toBe('Wed, 21 Oct 2026 07:28:00 GMT')
      expect((await chat(upstream.url, 'fixed-model', 'sk-busy')).status).toBe(429)
      expect((await chat(upstream.url, 'fixed-model', 'sk-busy')).status).toBe(200)
      expect(upstream.stats().keys['sk-busy']).toMatchObject({ arrivals: 3, failed: 2, completed: 1 })
    } finally {
      await upstream.close()
    }
  })

  it('reports every problem of an invalid file, with paths', async () => {
    const error = await loadFaultsFile(fixture('faults-invalid/faults.toml')).catch((caught: unknown) => caught)
    expect(InvalidFaultsError.isInstance(error)).toBe(true)
    const { issues, file } = error as InvalidFaultsError
    expect(file).toBe(fixture('faults-invalid/faults.toml'))
    expect(issues.map((issue) => issue.path)).toEqual([
      'seeds',
      'faults.gpt-4o',
      'faults.gpt-4o.status',
      'faults.gpt-4o.latencyMs',
      'key_faults.sk-b.status',
    ])
  })

  it('key faults: key_faults (TOML) or keyFaults (JSON), not both; a table of keys', () => {
    const both = '{"keyFaults": {"sk-a": {"status": 401}}, "key_faults": {}}'
    expect(() => parseFaultsFile(both, { format: 'json' })).toThrow(/keyFaults: write key_faults or keyFaults/)
    expect(() => parseFaultsFile('key_faults = 1', { format: 'toml' })).toThrow(/key_faults: must map API keys/)
    expect(() => parseFaultsFile('[key_faults." sk-a"]\nstatus = 401', { format: 'toml' })).toThrow(/API key/)
    expect(parseFaultsFile('[faults]', { format: 'toml' })).not.toHaveProperty('keyFaults')
  })

  it('reports syntax errors with their line, and missing files', async () => {
    await expect(loadFaultsFile(fixture('faults-invalid/broken.toml'))).rejects.toThrow(/invalid TOML at line \d+/)
    await expect(loadFaultsFile(fixture('faults-invalid/missing.json'))).rejects.toThrow(/file not found/)
    expect(() => parseFaultsFile('{"faults": []}', { format: 'json' })).toThrow(/faults: must map model names/)
  })
})

describe('runMockUpstream', () => {
  it('prints the URL, serves until the signal, then closes and returns the counters', async () => {
    const controller = new AbortController()
    let printed = ''
    const running = runMockUpstream({
      faultsFile: fixture('faults-json/faults.json'),
      signal: controller.signal,
      output: { write: (text) => (printed += text) },
    })
    while (!printed.endsWith('\n')) await new Promise((resolve) => setTimeout(resolve, 5))
    const url = printed.trim()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(
      (
        await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
        })
      ).status,
    ).toBe(429)
    controller.abort()
    expect(await running).toMatchObject({ arrivals: 1, failed: 1 })
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow()
  })
})

describe('llmpool-mock-upstream', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url))
  const start = (...args: string[]) =>
    spawn(`${root}node_modules/.bin/tsx`, ['--conditions=@llmpool/source', bin, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const exit = (child: ReturnType<typeof start>) =>
    new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))

  it('starts, prints its URL, serves the faults file and stops cleanly on SIGTERM', async () => {
    const child = start('--port', '0', '--faults', fixture('faults-toml/faults.toml'))
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()))
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        stdout += data.toString()
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string)
      })
      child.on('close', () => reject(new Error(`exited early: ${stderr}`)))
    })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const response = await chat(url, 'gpt-4o')
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('2')
    expect((await chat(url, 'fixed-model', 'sk-revoked')).status).toBe(401)
    child.kill('SIGTERM')
    expect(await exit(child)).toBe(0)
    expect(stderr).toContain('stopped after 2 requests')
  }, 60_000)

  it('exits 2 with the problems of an invalid faults file', async () => {
    const invalid = start('--faults', fixture('faults-invalid/faults.toml'))
    let stderr = ''
    invalid.stderr.on('data', (data: Buffer) => (stderr += data.toString()))
    expect(await exit(invalid)).toBe(2)
    expect(stderr).toContain('invalid faults file')
    expect(stderr).toContain('faults.gpt-4o.latencyMs')
  }, 60_000)
})
