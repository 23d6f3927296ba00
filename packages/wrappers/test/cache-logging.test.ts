/** [global.cache] and [global.logging]: the response cache, request/response lines, redaction. */
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import { generateText, streamText } from 'ai'
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { copyFixture, fixture, logCollector, openPool } from './helpers'

let upstream: MockUpstream

beforeAll(async () => {
  upstream = await createMockUpstream()
})
afterAll(async () => {
  await upstream.close()
})
beforeEach(() => {
  upstream.reset()
})

test('cache on: a second identical call does not reach the upstream', async () => {
  const pool = await openPool(upstream, fixture('cache-logging'), { logger: false })
  const first = await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'cache me' })
  const second = await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'cache me' })
  expect(second.text).toBe(first.text)
  expect(second.providerMetadata?.llmpool).toMatchObject({ cached: true })
  expect(upstream.stats().arrivals).toBe(1)
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'something else' })
  expect(upstream.stats().arrivals).toBe(2)
  await pool.dispose()
})

test('cache off (the basic fixture): every call reaches the upstream', async () => {
  const pool = await openPool(upstream, fixture('basic'))
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'again' })
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'again' })
  expect(upstream.stats().arrivals).toBe(2)
  await pool.dispose()
})

test('request and response lines, JSON, with no api key and authorization headers redacted', async () => {
  const log = logCollector()
  const pool = await openPool(upstream, fixture('cache-logging'), { logDestination: log })
  await generateText({
    model: pool.wrapper('fast_pool_wrapper'),
    prompt: 'the secret plan',
    headers: { Authorization: 'Bearer sk-user-SECRET', 'X-Trace': 't1' },
  })
  const stream = streamText({ model: pool.wrapper('other_pool_wrapper'), prompt: 'stream the plan' })
  await stream.consumeStream()
  // The finish part says who answered with response logging on too (the stream then goes through the logging step).
  expect((await stream.providerMetadata)?.llmpool).toMatchObject({
    instance: expect.stringContaining('model-other'),
    attempts: 1,
  })
  const records = log.records()
  const requests = records.filter((record) => record.msg === 'llmpool request')
  const responses = records.filter((record) => record.msg === 'llmpool response')
  expect(requests).toHaveLength(2)
  expect(responses).toHaveLength(2)
  expect(requests[0]).toMatchObject({
    level: 30,
    name: 'llmpool',
    wrapper: 'fast_pool_wrapper',
    target: 'fast_pool',
    stream: false,
  })
  expect(requests[0]!.request.headers).toMatchObject({ authorization: '[redacted]', 'x-trace': 't1' })
  expect(JSON.stringify(requests[0]!.request.prompt)).toContain('the secret plan')
  expect(responses[0]).toMatchObject({
    wrapper: 'fast_pool_wrapper',
    response: {
      instance: 'fast_group.main/mock:model-fast',
      attempts: 1,
      text: 'mock reply from model-fast: the secret plan',
    },
  })
  expect(responses[1]).toMatchObject({
    wrapper: 'other_pool_wrapper',
    stream: true,
    response: { text: 'mock reply from model-other: stream the plan' },
  })
  const all = log.lines.join('\n')
  expect(all).not.toContain('sk-test-SECRET-key-123')
  expect(all).not.toContain('sk-user-SECRET')
  await pool.dispose()
})

test('redactContent: prompts and answers are [redacted], the rest is logged', async () => {
  const log = logCollector()
  const pool = await openPool(upstream, fixture('cache-logging'), { logDestination: log, redactContent: true })
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'a private question' })
  const records = log.records()
  expect(records.find((record) => record.msg === 'llmpool request')!.request).toMatchObject({
    prompt: '[redacted]',
    messages: 1,
  })
  expect(records.find((record) => record.msg === 'llmpool response')!.response).toMatchObject({
    text: '[redacted]',
    instance: 'fast_group.main/mock:model-fast',
  })
  expect(log.lines.join('\n')).not.toContain('private question')
  await pool.dispose()
})

test('a logger of your own receives the lines; failures are logged with their code', async () => {
  const lines: { level: string; object: Record<string, any>; message?: string }[] = []
  const at = (level: string) => (object: object, message?: string) =>
    void lines.push({ level, object: object as Record<string, any>, message })
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  const pool = await openPool(upstream, fixture('cache-logging'), { logger })
  upstream.setFaults('model-other', { status: 400 })
  await expect(generateText({ model: pool.wrapper('other_pool_wrapper'), prompt: 'bad' })).rejects.toThrow()
  upstream.clearFaults()
  expect(lines.map((line) => line.message)).toEqual(['llmpool request', 'attempt failed', 'llmpool request failed'])
  expect(lines[1]).toMatchObject({
    level: 'debug',
    object: { instance: 'other_group.main/mock:model-other', error: { kind: 'bad_request', statusCode: 400 } },
  })
  expect(lines[2]!.object.error).toMatchObject({ code: 'request_rejected' })
  await pool.dispose()
})

test('format = "text" and level = "warn" through pino: readable lines, only warnings and worse', async () => {
  const directory = copyFixture('cache-logging')
  const file = path.join(directory, 'wrappers/pool-wrappers.toml')
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('format = "json"', 'format = "text"')
      .replace('level = "info"', 'level = "warn"'),
  )
  const log = logCollector()
  const pool = await openPool(upstream, directory, { logDestination: log })
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'quiet' })
  expect(log.lines).toEqual([])
  upstream.setFaults('model-fast', { status: 400 })
  await expect(generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'loud' })).rejects.toThrow()
  upstream.clearFaults()
  expect(log.lines).toHaveLength(1)
  expect(log.lines[0]).toMatch(
    /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN llmpool request failed name=llmpool wrapper=fast_pool_wrapper target=fast_pool stream=false durationMs=\d+ error=\{"name":"RequestRejectedError","code":"request_rejected"/,
  )
  await pool.dispose()
})

test('a pino instance of your own is used as given (its level, its fields)', async () => {
  const { pino } = await import('pino')
  const log = logCollector()
  const logger = pino({ level: 'info', base: { service: 'my-app' } }, log)
  const pool = await openPool(upstream, fixture('cache-logging'), { logger, redactContent: true })
  await generateText({ model: pool.wrapper('fast_pool_wrapper'), prompt: 'mine' })
  const stream = streamText({ model: pool.wrapper('other_pool_wrapper'), prompt: 'mine too' })
  await stream.consumeStream()
  expect(log.records().find((record) => record.msg === 'llmpool request')).toMatchObject({
    service: 'my-app',
    wrapper: 'fast_pool_wrapper',
  })
  // redactContent holds without the default logger's redact paths too.
  expect(log.lines.join('\n')).not.toContain('mine')
  expect(
    log
      .records()
      .filter((record) => record.msg === 'llmpool response')
      .map((record) => record.response.text),
  ).toEqual(['[redacted]', '[redacted]'])
  await pool.dispose()
})

test('pool.generate with an unknown name rejects its promise (it does not throw), with or without logging', async () => {
  for (const name of ['basic', 'cache-logging']) {
    const pool = await openPool(upstream, fixture(name), { logger: false })
    let answer: Promise<unknown> | undefined
    expect(() => {
      answer = pool.generate('no_such_pool', { prompt: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })
    }).not.toThrow()
    await expect(answer).rejects.toThrow(/no_such_pool/)
    await pool.dispose()
  }
})
