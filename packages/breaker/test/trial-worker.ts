/**
 * One process of redis.trials.test.ts (forked through tsx): a breaker shared through `createRedisBreakerGroup`,
 * driven by the test over IPC. `trip` fails one call (the breaker opens, and the others hear it); `probe` asks for
 * admission every 2 ms for a while, holds every trial permit it gets without settling it, and reports how many it
 * got; `succeed` settles the held trials as successes; `state` reports the breaker's state.
 */
import { CircuitBreaker, type BreakerPermit, createRedisBreakerGroup } from '@llmpool/breaker'

export interface TrialWorkerConfig {
  url: string
  keyPrefix: string
  name: string
  halfOpenRequests: number
  recoveryTimeMs: number
  trialTimeoutMs: number
}

export type TrialWorkerCommand =
  | { type: 'trip' }
  | { type: 'probe'; durationMs: number }
  | { type: 'succeed' }
  | { type: 'state' }

export type TrialWorkerMessage =
  | { type: 'ready' }
  | { type: 'tripped'; state: string }
  | { type: 'probed'; trials: number; firstTrialAt: number | undefined; state: string }
  | { type: 'succeeded'; state: string }
  | { type: 'state'; state: string; errors: string[] }

const config = JSON.parse(process.argv[2] ?? '{}') as TrialWorkerConfig
const send = (message: TrialWorkerMessage) => process.send?.(message)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
process.on('disconnect', () => process.exit(0))

const breaker = new CircuitBreaker({
  name: config.name,
  failureThreshold: 1,
  recoveryTimeMs: config.recoveryTimeMs,
  halfOpenRequests: config.halfOpenRequests,
  trialTimeoutMs: config.trialTimeoutMs,
})
const errors: string[] = []
const group = await createRedisBreakerGroup({
  redis: config.url,
  keyPrefix: config.keyPrefix,
  onError: (error) => errors.push(error.message),
})
await group.add(breaker)
const held: BreakerPermit[] = []

process.on('message', async (command: TrialWorkerCommand) => {
  if (command.type === 'trip') {
    breaker.tryAcquire()?.failure(Object.assign(new Error('upstream failed'), { statusCode: 500 }))
    send({ type: 'tripped', state: breaker.state })
  } else if (command.type === 'probe') {
    const until = Date.now() + command.durationMs
    let trials = 0
    let firstTrialAt: number | undefined
    while (Date.now() < until) {
      const permit = breaker.tryAcquire()
      if (permit?.trial) {
        held.push(permit)
        trials++
        firstTrialAt ??= Date.now()
      } else permit?.release()
      await sleep(2)
    }
    send({ type: 'probed', trials, firstTrialAt, state: breaker.state })
  } else if (command.type === 'succeed') {
    for (const permit of held.splice(0)) permit.success()
    send({ type: 'succeeded', state: breaker.state })
  } else {
    send({ type: 'state', state: breaker.state, errors })
  }
})
send({ type: 'ready' })
