/**
 * pino 10, which the peer range accepts besides 9 (installed here as `pino-10`; its only breaking change was
 * dropping Node 18): the pool's own loggers, made from `[global.logging]`, with pino 10 in place of `pino`.
 */
import { createMockUpstream } from '@llmpool/testing'
import { generateText } from 'ai'
import { expect, test, vi } from 'vitest'
import { fixture, logCollector, openPool } from './helpers'

vi.mock('pino', async () => await import('pino-10'))

test('pino 10: request and response lines, with authorization headers and prompts redacted', async () => {
  expect((await import('pino')).version).toMatch(/^10\./)
  const upstream = await createMockUpstream()
  const log = logCollector()
  const pool = await openPool(upstream, fixture('cache-logging'), { logDestination: log, redactContent: true })
  await generateText({
    model: pool.wrapper('fast_pool_wrapper'),
    prompt: 'a private question',
    headers: { Authorization: 'Bearer sk-user-SECRET' },
  })
  const records = log.records()
  const request = records.find((record) => record.msg === 'llmpool request')!
  expect(request).toMatchObject({ level: 30, name: 'llmpool', wrapper: 'fast_pool_wrapper' })
  expect(request.request).toMatchObject({ prompt: '[redacted]', headers: { authorization: '[redacted]' } })
  expect(records.find((record) => record.msg === 'llmpool response')!.response).toMatchObject({
    text: '[redacted]',
    instance: 'fast_group.main/mock:model-fast',
  })
  expect(log.lines.join('\n')).not.toMatch(/private question|sk-user-SECRET/)
  await pool.dispose()
  await upstream.close()
})
