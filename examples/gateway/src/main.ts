// `pnpm gateway --config DIR --port N [--host H] [--redis URL] [--watch]`: an OpenAI-compatible gateway over the
// pools, task groups and wrappers of DIR. SIGINT/SIGTERM stop accepting, drain in-flight requests, then exit.
// Every accepted or rejected reload of the configuration is logged on stderr.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from '@llmpool/config'
import { startGateway } from './server'

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/llms' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    redis: { type: 'string' },
    'redis-prefix': { type: 'string' },
    watch: { type: 'boolean' },
    'no-pass-through': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string' },
    'redis-lease-ttl': { type: 'string' },
    'redis-on-unavailable': { type: 'string' },
    'max-connections': { type: 'string' },
  },
})
const positive = (flag: string, value: string | undefined) => {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!(Number.isInteger(number) && number > 0)) {
    console.error(`--${flag} takes a whole number > 0`)
    process.exit(2)
  }
  return number
}
const leaseTtlMs = positive('redis-lease-ttl', values['redis-lease-ttl'])
const maxConnections = positive('max-connections', values['max-connections'])
const timeoutMs = positive('timeout-ms', values['timeout-ms'])
const onUnavailable = values['redis-on-unavailable']
if (onUnavailable !== undefined && onUnavailable !== 'fail-closed' && onUnavailable !== 'fallback-memory') {
  console.error('--redis-on-unavailable takes fail-closed or fallback-memory')
  process.exit(2)
}
const port = Number(values.port)
if (!(Number.isInteger(port) && port >= 0 && port < 65_536)) {
  console.error('--port takes a port number')
  process.exit(2)
}
const root = path.resolve(import.meta.dirname, '../../..')
const directory = path.resolve(process.env.INIT_CWD ?? root, values.config!)
try {
  const gateway = await startGateway({
    config: directory,
    port,
    host: values.host!,
    ...(values.redis ? { redis: values.redis } : {}),
    ...(values['redis-prefix'] ? { redisPrefix: values['redis-prefix'] } : {}),
    ...(values.watch ? { watch: true } : {}),
    passThrough: !values['no-pass-through'],
    ...(timeoutMs ? { router: { requestTimeoutMs: timeoutMs } } : {}),
    ...(leaseTtlMs ? { redisLeaseTtlMs: leaseTtlMs } : {}),
    ...(onUnavailable ? { redisOnUnavailable: onUnavailable } : {}),
    ...(maxConnections ? { maxConnections } : {}),
  })
  gateway.store.onEvent((event) => {
    const at = new Date(event.at).toISOString()
    if (event.type === 'reload_applied') console.error(`${at} configuration reloaded (${event.trigger}, ${event.hash.slice(0, 12)})`)
    if (event.type === 'reload_rejected') {
      console.error(`${at} configuration reload rejected (${event.trigger}); the last good configuration keeps serving:`)
      for (const problem of event.errors) console.error(`  ${problem.file}:${problem.line ?? '?'}  ${problem.path}  ${problem.message}`)
    }
  })
  process.send?.({ url: gateway.url })
  console.log(`llmpool gateway on ${gateway.url} (config ${path.relative(process.cwd(), directory) || '.'})`)
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: draining`)
    void gateway.close().then(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('disconnect', () => stop('disconnect'))
} catch (error) {
  if (ConfigError.isInstance(error)) {
    for (const problem of error.problems) console.error(`${problem.file}:${problem.line ?? '?'}  ${problem.path}  ${problem.message}`)
    process.exit(2)
  }
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
}
