import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port'
import { spawnRedisServer, stopProcess } from './redis-process'
import { requireProgram } from './require-program'

/** A standalone redis-server of a test's own (see `startRedisServer`). */
export interface RedisServer {
  /** Its port on 127.0.0.1. */
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** SIGKILL, like a crash: connections drop at once. */
  kill(): Promise<void>
  /** Kills it if it runs, and starts it again on the same port, empty (nothing is persisted). */
  restart(): Promise<void>
  /** SIGSTOP: connections stay open and nothing answers (a hung Redis). */
  pause(): void
  /** SIGCONT, after `pause()`. */
  resume(): void
  /** Kills it (paused or not) and removes its directory. Call it in `afterAll`. */
  stop(): Promise<void>
}

/**
 * Starts a redis-server of the test's own on a free port of 127.0.0.1, keeping nothing on disk, and resolves once it
 * accepts connections. The test may kill, pause and restart it: outages without touching a Redis others use. Needs
 * `redis-server` on PATH (an `Error` says what to install otherwise).
 */
export async function startRedisServer(): Promise<RedisServer> {
  requireProgram('redis-server')
  const port = await freePort()
  const directory = mkdtempSync(join(tmpdir(), 'llmpool-redis-'))
  let child: ChildProcess | undefined
  try {
    child = await spawnRedisServer(port, [], directory)
  } catch (error) {
    rmSync(directory, { recursive: true, force: true })
    throw error
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      await stopProcess(child)
      child = undefined
    },
    restart: async () => {
      await stopProcess(child)
      child = await spawnRedisServer(port, [], directory)
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    stop: async () => {
      // A paused server dies on SIGKILL too.
      await stopProcess(child)
      child = undefined
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
