/**
 * The gateway as a program: flags and LLMPOOL_* variables, help and exit codes, the log it writes (start, access
 * lines, reloads, breaker trips), /healthz and /readyz, and the bin as a process stopped by SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createMockUpstream, type MockUpstream, type RedisServer, startRedisServer } from '@llmpool/testing'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { type Gateway, GatewayUsageError, gatewayUsage, parseGatewayArgs, runGateway } from '../src/index'
import type { ServerResponse } from 'node:http'
import { AccessLog } from '../src/access-log'
import { accessLogger, gatewayLogger, gatewayV8Flags } from '../src/run'
import { copyFixture, FIXTURE, writeConfiguration } from './helpers'

const BIN = path.join(import.meta.dirname, '..', 'src', 'bin.ts')
let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(async () => {
  await upstream.close()
})
beforeEach(() => {
  upstream.clearFaults()
  upstream.reset()
})

describe('parseGatewayArgs', () => {
  test('defaults: ./configs/llms from the working directory, port 8080, localhost, JSON logs at info', () => {
    const command = parseGatewayArgs([], {}, '/srv/app')
    if (typeof command === 'string') throw new Error('expected a command')
    expect(command.options).toMatchObject({
      config: '/srv/app/configs/llms',
      port: 8080,
      host: '127.0.0.1',
      passThrough: true,
    })
    expect(command.options.watch).toBeUndefined()
    expect(command).toMatchObject({ logLevel: 'info', logFormat: 'json', logBodies: false })
  })

  test('every flag has an LLMPOOL_* variable; the flag wins', () => {
    const env = {
      LLMPOOL_CONFIG: 'conf',
      LLMPOOL_PORT: '9000',
      LLMPOOL_HOST: '0.0.0.0',
      LLMPOOL_REDIS: 'redis://127.0.0.1:6379',
      LLMPOOL_REDIS_PREFIX: 'p',
      LLMPOOL_NO_WATCH: 'true',
      LLMPOOL_TIMEOUT_MS: '2500',
      LLMPOOL_LOG_LEVEL: 'warn',
      LLMPOOL_LOG_FORMAT: 'pretty',
      LLMPOOL_LOG_BODIES: '1',
      LLMPOOL_MAX_CONNECTIONS: '10',
    }
    const fromEnv = parseGatewayArgs([], env, '/srv')
    if (typeof fromEnv === 'string') throw new Error('expected a command')
    expect(fromEnv.options).toMatchObject({
      config: '/srv/conf',
      port: 9000,
      host: '0.0.0.0',
      redis: 'redis://127.0.0.1:6379',
      redisPrefix: 'p',
      watch: false,
      maxConnections: 10,
    })
    expect(fromEnv.options.router).toEqual({ requestTimeoutMs: 2500 })
    expect(fromEnv).toMatchObject({ logLevel: 'warn', logFormat: 'pretty', logBodies: true })
    const flags = parseGatewayArgs(['--port', '9001', '--config', '/etc/llms', '--log-level', 'debug'], env, '/srv')
    if (typeof flags === 'string') throw new Error('expected a command')
    expect(flags.options).toMatchObject({ port: 9001, config: '/etc/llms' })
    expect(flags.logLevel).toBe('debug')
  })

  test('mistakes name the flag, its variable and the value', () => {
    const mistake = (argv: string[], env: Record<string, string> = {}) => {
      try {
        parseGatewayArgs(argv, env)
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayUsageError)
        return (error as Error).message
      }
      throw new Error('no error')
    }
    expect(mistake(['--port', 'x'])).toBe('--port (LLMPOOL_PORT) takes a whole number from 0 to 65535, not "x"')
    expect(mistake([], { LLMPOOL_LOG_LEVEL: 'loud' })).toMatch(
      /--log-level \(LLMPOOL_LOG_LEVEL\) takes trace, debug, info, warn, error, fatal, silent, not "loud"/,
    )
    expect(mistake(['--watch', '--no-watch'])).toMatch(/contradict/)
    expect(mistake([], { LLMPOOL_WATCH: 'maybe' })).toBe('LLMPOOL_WATCH takes true or false, not "maybe"')
    expect(mistake(['--redis', 'localhost:6379'])).toMatch(/redis:\/\//)
    expect(mistake(['--nope'])).toMatch(/nope/)
  })

  test('help lists every flag with its variable', () => {
    const help = gatewayUsage()
    for (const flag of [
      '--config DIR',
      '--port N',
      '--redis URL',
      '--no-watch',
      '--log-level',
      '--log-format',
      '--log-bodies',
    ])
      expect(help).toContain(flag)
    for (const variable of [
      'LLMPOOL_CONFIG',
      'LLMPOOL_PORT',
      'LLMPOOL_REDIS',
      'LLMPOOL_NO_WATCH',
      'LLMPOOL_LOG_LEVEL',
      'LLMPOOL_GATEWAY_TOKEN',
    ])
      expect(help).toContain(variable)
    expect(parseGatewayArgs(['--help'])).toBe('help')
    expect(parseGatewayArgs(['-h'])).toBe('help')
  })
})

/** Runs the gateway in this process until `stop()`; its log lines are parsed JSON records. */
async function running(argv: string[], env: Record<string, string> = {}) {
  const lines: string[] = []
  const errors: string[] = []
  const controller = new AbortController()
  let started: (gateway: Gateway) => void
  const listening = new Promise<Gateway>((resolve) => (started = resolve))
  const exited = runGateway(['--port', '0', ...argv], {
    stdout: { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) },
    stderr: { write: (text: string) => errors.push(text) },
    env: { MOCK_URL: upstream.url, ...env },
    cwd: process.cwd(),
    signal: controller.signal,
    onListening: (gateway) => started(gateway),
  })
  const gateway = await Promise.race([
    listening,
    exited.then((code) => Promise.reject(new Error(`exited ${code}: ${errors.join('')}`))),
  ])
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  return {
    gateway,
    lines,
    records,
    stop: async () => {
      controller.abort()
      return exited
    },
  }
}

const chat = (url: string, model: string, content = 'the secret prompt') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  })

describe('gatewayV8Flags', () => {
  const FLAG = '--no-allocation-site-pretenuring'

  test('the command turns allocation-site pretenuring off in its own process', () => {
    expect(gatewayV8Flags([], undefined)).toEqual([FLAG])
    expect(gatewayV8Flags(['--max-semi-space-size=32'], '--enable-source-maps')).toEqual([FLAG])
  })

  test("an operator's own choice, either way and in either spelling, is left as it is", () => {
    expect(gatewayV8Flags(['--allocation-site-pretenuring'], undefined)).toEqual([])
    expect(gatewayV8Flags([], '--max-semi-space-size=32 --no-allocation-site-pretenuring')).toEqual([])
    expect(gatewayV8Flags(['--no_allocation_site_pretenuring'], '')).toEqual([])
  })
})

describe('accessLogger', () => {
  test("the bin's access line is the line pino writes for the same record, and follows the logger's level", () => {
    const lines: string[] = []
    const logger = gatewayLogger({ logLevel: 'info', logFormat: 'json' }, { write: (line: string) => lines.push(line) })
    const byPino = new AccessLog({ logger })
    const direct = new AccessLog({ logger: accessLogger(logger), bodies: true })
    // The direct line never goes through pino's `info`: only byPino's two lines do.
    const info = vi.spyOn(logger, 'info')
    const request = (method: string) => ({ method }) as never
    const requests = [
      (log: AccessLog, response: ServerResponse) => {
        log.start(request('POST'), response, '/v1/chat/completions')
        Object.assign(log.record(response)!, {
          target: 'a "quoted" target ü \u2028',
          stream: true,
          prompt: [{ role: 'user', content: 'line\nbreak 🙂' }],
          instance: 'g.main/openai:m',
          attempts: 2,
          fallbacks: 1,
          inputTokens: 12,
          outputTokens: Number.NaN,
        })
      },
      (log: AccessLog, response: ServerResponse) => log.start(request('GET'), response, '/v1/models'),
    ]
    for (const [index, fill] of requests.entries()) {
      for (const log of [byPino, direct]) {
        const response = { writableFinished: index !== 0, statusCode: 200 } as ServerResponse
        fill(log, response)
        log.write(response)
      }
    }
    expect(lines).toHaveLength(4)
    expect(info).toHaveBeenCalledTimes(2)
    const parsed = lines.map((line) => {
      expect(line.endsWith('}\n')).toBe(true)
      const { time, latencyMs, ...rest } = JSON.parse(line) as Record<string, unknown>
      expect(typeof time).toBe('number')
      expect(typeof latencyMs).toBe('number')
      return rest
    })
    expect(Object.keys(parsed[1]!)).toEqual(Object.keys(parsed[0]!))
    expect(parsed[1]).toEqual(parsed[0])
    expect(parsed[0]).toMatchObject({ level: 30, msg: 'request', status: 499, outputTokens: null })
    expect(parsed[3]).toEqual(parsed[2])
    expect(parsed[3]).toEqual({
      level: 30,
      event: 'request',
      method: 'GET',
      path: '/v1/models',
      status: 200,
      msg: 'request',
    })

    logger.level = 'warn'
    const response = { writableFinished: true, statusCode: 200 } as ServerResponse
    direct.start(request('POST'), response, '/v1/chat/completions')
    direct.write(response)
    expect(lines).toHaveLength(4)
  })
})

describe('runGateway', () => {
  test('--help, --version and a bad flag exit 0, 0, 2 without starting', async () => {
    let out = ''
    let err = ''
    const io = {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: {},
      cwd: process.cwd(),
    }
    expect(await runGateway(['--help'], io)).toBe(0)
    expect(out).toContain('Usage: llmpool-gateway')
    out = ''
    expect(await runGateway(['--version'], io)).toBe(0)
    expect(out).toMatch(/^\d+\.\d+\.\d+/)
    expect(await runGateway(['--port', '70000'], io)).toBe(2)
    expect(err).toBe(
      'llmpool-gateway: --port (LLMPOOL_PORT) takes a whole number from 0 to 65535, not "70000" (see "llmpool-gateway --help")\n',
    )
  })

  test('an invalid configuration exits 1 with every problem as file:line path message', async () => {
    const config = writeConfiguration({
      '_registry.toml': '[pools]\np = { file = "pools/p.toml" }\n',
      'pools/p.toml': '[pool]\nname = "p"\nstrategy = "sideways"\n',
    })
    let err = ''
    const code = await runGateway(['--config', config, '--port', '0'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (err += text) },
      env: {},
      cwd: process.cwd(),
    })
    expect(code).toBe(1)
    expect(err).toMatch(/pools\/p\.toml:\d+ {2}\S*strategy/)
  })

  test('logs its start, one access line per request (no prompt text), and its stop', async () => {
    const run = await running(['--config', FIXTURE])
    const response = await chat(run.gateway.url, 'group_wrapper')
    expect(response.status).toBe(200)
    expect(response.headers.get('x-llmpool-instance')).toMatch(/^main_group\.main\/openai:model-[ab]$/)
    expect(response.headers.get('x-llmpool-attempts')).toBe('1')
    await response.json()
    expect((await chat(run.gateway.url, 'no_such_target')).status).toBe(404)
    expect(await run.stop()).toBe(0)
    const records = run.records()
    expect(records[0]).toMatchObject({
      level: 30,
      msg: `llmpool gateway listening on ${run.gateway.url}`,
      watch: false,
    })
    const access = records.filter((record) => record.event === 'request')
    expect(access).toHaveLength(2)
    expect(access[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      target: 'group_wrapper',
      stream: false,
      status: 200,
      attempts: 1,
      fallbacks: 0,
    })
    expect(access[0]!.instance).toBe(response.headers.get('x-llmpool-instance'))
    expect(access[0]!.inputTokens).toBeGreaterThan(0)
    expect(access[0]!.outputTokens).toBeGreaterThan(0)
    expect(typeof access[0]!.latencyMs).toBe('number')
    expect(access[1]).toMatchObject({ target: 'no_such_target', status: 404 })
    expect(run.lines.join('\n')).not.toContain('the secret prompt')
    expect(run.lines.join('\n')).not.toContain('test-key')
    expect(records.at(-1)).toMatchObject({ msg: 'stopped' })
  })

  test('--log-bodies puts the prompt in the access line; --log-format pretty writes readable lines', async () => {
    const withBodies = await running(['--config', FIXTURE, '--log-bodies'])
    await (await chat(withBodies.gateway.url, 'group_wrapper')).json()
    await withBodies.stop()
    expect(withBodies.records().find((record) => record.event === 'request')?.prompt).toEqual([
      { role: 'user', content: 'the secret prompt' },
    ])

    const pretty = await running(['--config', FIXTURE], { LLMPOOL_LOG_FORMAT: 'pretty' })
    await (await chat(pretty.gateway.url, 'group_wrapper')).json()
    await pretty.stop()
    expect(pretty.lines.find((line) => line.includes(' request '))).toMatch(
      /^\d{4}-\d\d-\d\dT\S+ INFO request event=request method=POST path=\/v1\/chat\/completions target=group_wrapper .*status=200/,
    )
  })

  test('a reload is logged: accepted with its diff, rejected with its problems; breaker trips at warn', async () => {
    const config = copyFixture()
    writeFileSync(
      path.join(config, 'task-groups', 'failing-group.toml'),
      readFileSync(path.join(config, 'task-groups', 'failing-group.toml'), 'utf8').replace(
        'failure_threshold = 100',
        'failure_threshold = 2\nrecovery_time = 60',
      ),
    )
    const run = await running(['--config', config, '--no-watch'])
    upstream.setFaults('fail-a', { status: 500 })
    upstream.setFaults('fail-b', { status: 500 })
    for (let index = 0; index < 3; index++) await (await chat(run.gateway.url, 'failing_group')).text()

    const group = path.join(config, 'task-groups', 'main-group.toml')
    writeFileSync(group, readFileSync(group, 'utf8').replace('concurrency_limit = 100', 'concurrency_limit = 50'))
    expect((await run.gateway.store.reload()).status).toBe('applied')
    writeFileSync(group, readFileSync(group, 'utf8').replace('concurrency_limit = 50', 'concurrency_limit = "many"'))
    expect((await run.gateway.store.reload()).status).toBe('rejected')
    await run.stop()

    const records = run.records()
    const trips = records.filter((record) => record.event === 'breaker_change' && record.to === 'open')
    expect(trips.length).toBeGreaterThan(0)
    expect(trips[0]).toMatchObject({
      level: 40,
      instance: expect.stringMatching(/^failing_group\.main\/openai:fail-[ab]$/),
    })
    const applied = records.find((record) => record.event === 'reload_applied')
    expect(applied).toMatchObject({ level: 30, msg: 'configuration reloaded' })
    expect(JSON.stringify(applied!.diff)).toContain('main_group')
    const rejected = records.find((record) => record.event === 'reload_rejected')
    expect(rejected).toMatchObject({ level: 40, msg: 'configuration reload rejected' })
    expect((rejected!.errors as string[]).join('\n')).toMatch(
      /main-group\.toml:\d+: task_group\.echelons\.main\.concurrency_limit: /,
    )
  })
})

describe('/healthz and /readyz', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(async () => {
    await redis.stop()
  })

  test('ready with a configuration and Redis answering; not ready (503) while Redis is down; both open without the token', async () => {
    const run = await running(
      [
        '--config',
        FIXTURE,
        '--redis',
        redis.url,
        '--redis-prefix',
        `readyz-${process.pid}`,
        '--redis-on-unavailable',
        'fallback-memory',
      ],
      { LLMPOOL_GATEWAY_TOKEN: 'gateway-token' },
    )
    try {
      const ready = await fetch(`${run.gateway.url}/readyz`)
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({ ready: true, checks: { configuration: 'ok', redis: 'ok' } })
      await redis.kill()
      const down = await fetch(`${run.gateway.url}/readyz`)
      expect(down.status).toBe(503)
      const body = (await down.json()) as { ready: boolean; checks: { redis: string } }
      expect(body.ready).toBe(false)
      expect(body.checks.redis).toMatch(/^unreachable: /)
      expect((await fetch(`${run.gateway.url}/healthz`)).status).toBe(200)
    } finally {
      await redis.restart()
      await run.stop()
    }
  })
})

describe('the bin', () => {
  const start = (args: string[], env: Record<string, string> = {}) =>
    spawn(process.execPath, ['--import', 'tsx', '--conditions=@llmpool/source', BIN, ...args], {
      env: { ...process.env, MOCK_URL: upstream.url, INIT_CWD: process.cwd(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const exit = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  test('serves the official openai client, drains on SIGTERM and exits 0', { timeout: 60_000 }, async () => {
    const child = start(['--config', FIXTURE, '--port', '0'])
    let output = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /listening on (http:\/\/\S+?)"/.exec(output)
        if (match) resolve(match[1]!)
      })
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)))
    })
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const completion = await client.chat.completions.create({
      model: 'main_wrapper',
      messages: [{ role: 'user', content: 'hello' }],
    })
    expect(completion.model).toBe('main_wrapper')
    const stream = await client.chat.completions.create({
      model: 'main_wrapper',
      stream: true,
      messages: [{ role: 'user', content: 'hello' }],
    })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text.length).toBeGreaterThan(0)
    const exited = exit(child)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(output).toContain('"msg":"draining"')
  })

  test('exit 1 for a missing configuration directory (said so), 2 for a bad flag', { timeout: 60_000 }, async () => {
    const missing = start(['--config', '/nonexistent/llms', '--port', '0'])
    let stderr = ''
    missing.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    expect(await exit(missing)).toBe(1)
    expect(stderr).toBe('directory not found: /nonexistent/llms\n')
    const bad = start(['--port', 'eighty'])
    expect(await exit(bad)).toBe(2)
  })
})
