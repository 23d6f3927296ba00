// Three gateway processes, one Redis, one mock upstream. 24 clients hammer the three gateways for a few seconds;
// then the script reads what reached the upstream: per model, the most calls in flight at once and the calls in
// the run (it lasts less than the rpm window), against the task group's concurrency_limit and rpm_limit — which
// hold in total, not per gateway. flaky-model fails every call: its breaker trips in whichever gateway sees the
// failures first, and the others learn it through Redis, so it gets about failure_threshold calls, not three times
// as many.
import { type ChildProcess, fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { createMockUpstream } from '@llmpool/testing'
import { Redis } from 'ioredis'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `llmpool-example-distributed-${randomUUID()}`
const root = path.resolve(import.meta.dirname, '../../..')
const gatewayMain = path.join(root, 'packages/gateway/src/bin.ts')
const config = path.join(import.meta.dirname, '../config')
const DURATION_MS = Number(process.env.DURATION_MS ?? 4000)

const upstream = await createMockUpstream()
upstream.setFaults('flaky-model', { status: 500 })
upstream.setFaults('steady-model', { latencyMs: 50 })

const children: ChildProcess[] = []
function startGateway(): Promise<string> {
  // A request waits for capacity at most 1.5 s, then gets a 429: the run stays well inside one rpm window.
  const child = fork(
    gatewayMain,
    ['--config', config, '--port', '0', '--redis', REDIS_URL, '--redis-prefix', prefix, '--timeout-ms', '1500'],
    {
      execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
      env: { ...process.env, MOCK_URL: upstream.url, INIT_CWD: root },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url))
    child.once('exit', (code) => reject(new Error(`a gateway exited with ${code}`)))
  })
}

let exitCode = 1
try {
  const gateways = await Promise.all([startGateway(), startGateway(), startGateway()])
  console.log(`3 gateways on one Redis (prefix ${prefix}):\n  ${gateways.join('\n  ')}`)
  const answered = new Map<string, number>()
  const statuses = new Map<number, number>()
  const started = Date.now()
  await Promise.all(
    Array.from({ length: 24 }, async (_, client) => {
      const gateway = gateways[client % 3]!
      while (Date.now() - started < DURATION_MS) {
        const response = await fetch(`${gateway}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'shared_group', messages: [{ role: 'user', content: 'hello' }] }),
        })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        await response.text()
        if (response.status === 200) answered.set(gateway, (answered.get(gateway) ?? 0) + 1)
        else await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }),
  )
  await upstream.whenIdle()
  const seconds = (Date.now() - started) / 1000
  const stats = upstream.stats()
  const steady = stats.models['steady-model']
  const flaky = stats.models['flaky-model']
  console.log(
    `\nanswers per gateway: ${gateways.map((gateway) => answered.get(gateway) ?? 0).join(', ')}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  )
  console.log(
    `steady-model: ${steady?.arrivals ?? 0} calls in ${seconds.toFixed(1)} s (rpm_limit 40 in total), at most ${steady?.maxInFlight ?? 0} at once (concurrency_limit 3 in total)`,
  )
  console.log(
    `flaky-model: ${flaky?.arrivals ?? 0} calls before its shared breaker opened (failure_threshold 3; unshared, 3 gateways could make 9)`,
  )
  // Within one 60 s window every call counts against the rpm limit.
  const held =
    seconds < 60 && (steady?.arrivals ?? 0) <= 40 && (steady?.maxInFlight ?? 0) <= 3 && (flaky?.arrivals ?? 0) < 3 * 3
  console.log(held ? '\nthe limits and the breaker held across the three gateways' : '\nLIMITS EXCEEDED')
  // Fair shares: every gateway asks as often, so each gets about a third of the shared limit (waiting requests of
  // every process take turns in the limiter's queue in Redis).
  const shares = gateways.map((gateway) => answered.get(gateway) ?? 0)
  const mean = shares.reduce((sum, share) => sum + share, 0) / shares.length
  const fair = shares.every((share) => share >= mean / 2)
  console.log(
    fair
      ? `each gateway got a fair share (${shares.join(' / ')}, mean ${mean.toFixed(1)})`
      : `UNFAIR SHARES (${shares.join(' / ')})`,
  )
  exitCode = held && fair && (steady?.arrivals ?? 0) > 0 ? 0 : 1
} finally {
  for (const child of children) child.kill('SIGTERM')
  await upstream.close()
  const redis = new Redis(REDIS_URL)
  const keys = await redis.keys(`*${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
}
process.exit(exitCode)
