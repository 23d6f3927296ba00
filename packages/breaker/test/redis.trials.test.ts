/**
 * Three processes share a breaker through Redis (127.0.0.1:6379): when it turns half-open, they run at most
 * `halfOpenRequests` trials at once in total, not each. Real processes, forked through tsx (see trial-worker.ts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import Redis from 'ioredis'
import { afterAll, describe, expect, test } from 'vitest'
import type { TrialWorkerCommand, TrialWorkerConfig, TrialWorkerMessage } from './trial-worker'

const REDIS_URL = 'redis://127.0.0.1:6379'
const root = fileURLToPath(new URL('../../..', import.meta.url))
const workerPath = fileURLToPath(new URL('./trial-worker.ts', import.meta.url))
const keyPrefix = `llmpool-test:breaker-trials:${randomUUID()}`
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const children = new Set<ChildProcess>()
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  const cleaner = new Redis(REDIS_URL)
  const keys = await cleaner.keys(`{${keyPrefix}:*`)
  if (keys.length > 0) await cleaner.del(...keys)
  await cleaner.quit()
})

interface Worker {
  child: ChildProcess
  /** Sends a command and resolves with the next message of the type `reply`. */
  ask<T extends TrialWorkerMessage['type']>(
    command: TrialWorkerCommand,
    reply: T,
  ): Promise<Extract<TrialWorkerMessage, { type: T }>>
}

async function startWorkers(count: number, config: Omit<TrialWorkerConfig, 'url' | 'keyPrefix'>): Promise<Worker[]> {
  const workers = Array.from({ length: count }, (): Worker => {
    const child = fork(workerPath, [JSON.stringify({ ...config, url: REDIS_URL, keyPrefix })], {
      cwd: root,
      execArgv: ['--import', 'tsx', '--conditions=@llmpool/source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.add(child)
    child.once('exit', () => children.delete(child))
    const next = <T extends TrialWorkerMessage['type']>(type: T) =>
      new Promise<Extract<TrialWorkerMessage, { type: T }>>((resolve) => {
        const listener = (message: TrialWorkerMessage) => {
          if (message.type !== type) return
          child.off('message', listener)
          resolve(message as Extract<TrialWorkerMessage, { type: T }>)
        }
        child.on('message', listener)
      })
    return {
      child,
      ask: (command, reply) => {
        const answer = next(reply)
        child.send(command)
        return answer
      },
    }
  })
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) =>
          worker.child.on('message', (message: TrialWorkerMessage) => message.type === 'ready' && resolve()),
        ),
    ),
  )
  return workers
}

async function states(workers: Worker[]): Promise<string[]> {
  return (await Promise.all(workers.map((worker) => worker.ask({ type: 'state' }, 'state')))).map(
    (answer) => answer.state,
  )
}

async function stop(workers: Worker[]): Promise<void> {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  await Promise.all(
    workers.map((worker) =>
      worker.child.exitCode === null && worker.child.signalCode === null ? once(worker.child, 'exit') : undefined,
    ),
  )
}

describe('half-open trials shared across processes', () => {
  test('3 processes run at most halfOpenRequests trials at once in total; the trials that succeed close every replica', async () => {
    const halfOpenRequests = 2
    const workers = await startWorkers(3, {
      name: `trials-${randomUUID()}`,
      halfOpenRequests,
      recoveryTimeMs: 300,
      trialTimeoutMs: 5000,
    })
    try {
      expect((await workers[0]!.ask({ type: 'trip' }, 'tripped')).state).toBe('open')
      await sleep(100)
      expect(await states(workers)).toEqual(['open', 'open', 'open'])
      // Every process asks for admission every 2 ms, through the half-open transition, and keeps every trial.
      const probed = await Promise.all(
        workers.map((worker) => worker.ask({ type: 'probe', durationMs: 1000 }, 'probed')),
      )
      const trials = probed.map((answer) => answer.trials)
      console.log(`trials per process while half-open: ${trials.join(' / ')} (halfOpenRequests ${halfOpenRequests})`)
      expect(trials.reduce((sum, value) => sum + value, 0)).toBe(halfOpenRequests)
      const winner = workers[trials.findIndex((value) => value > 0)]!
      expect((await winner.ask({ type: 'succeed' }, 'succeeded')).state).toBe('closed')
      const deadline = Date.now() + 1000
      while ((await states(workers)).some((state) => state !== 'closed')) {
        if (Date.now() > deadline) throw new Error(`not every replica closed: ${(await states(workers)).join(', ')}`)
        await sleep(20)
      }
    } finally {
      await stop(workers)
    }
  })

  test('when the process running the trials dies, another one takes them over after trialTimeoutMs', async () => {
    const halfOpenRequests = 1
    const trialTimeoutMs = 800
    const workers = await startWorkers(3, {
      name: `trials-${randomUUID()}`,
      halfOpenRequests,
      recoveryTimeMs: 300,
      trialTimeoutMs,
    })
    try {
      await workers[0]!.ask({ type: 'trip' }, 'tripped')
      const first = await Promise.all(workers.map((worker) => worker.ask({ type: 'probe', durationMs: 600 }, 'probed')))
      expect(first.map((answer) => answer.trials).reduce((sum, value) => sum + value, 0)).toBe(halfOpenRequests)
      const index = first.findIndex((answer) => answer.trials > 0)
      const winner = workers[index]!
      winner.child.kill('SIGKILL')
      await once(winner.child, 'exit')
      const killedAt = Date.now()
      const trialStartedAt = first[index]!.firstTrialAt!
      const others = workers.filter((worker) => worker !== winner)
      // Until shortly after the dead trial's round lapses (the new trial's own timeout would start another round).
      const second = await Promise.all(
        others.map((worker) => worker.ask({ type: 'probe', durationMs: trialTimeoutMs + 250 }, 'probed')),
      )
      const takeover = Math.min(...second.map((answer) => answer.firstTrialAt ?? Number.POSITIVE_INFINITY))
      console.log(
        `the trial's process died ${killedAt - trialStartedAt} ms into its trial; another took the trials over ${takeover - killedAt} ms later ` +
          `(${takeover - trialStartedAt} ms after the trial started; trialTimeoutMs ${trialTimeoutMs})`,
      )
      expect(second.map((answer) => answer.trials).reduce((sum, value) => sum + value, 0)).toBe(halfOpenRequests)
      // Not before the dead trial's slot lapsed, and soon after.
      expect(takeover - trialStartedAt).toBeGreaterThanOrEqual(trialTimeoutMs - 50)
      expect(takeover - trialStartedAt).toBeLessThanOrEqual(trialTimeoutMs + 300)
    } finally {
      await stop(workers)
    }
  })
})
