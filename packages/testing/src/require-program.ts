import { spawnSync } from 'node:child_process'

/** The Redis programs the Redis helpers start. */
export type RedisProgram = 'redis-server' | 'redis-cli'

/**
 * Throws an `Error` that says what to install when `program` is not on PATH (or does not run), so that a test that
 * needs it fails with that message instead of being skipped.
 */
export function requireProgram(program: RedisProgram): void {
  const probe = spawnSync(program, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${program} is not on PATH (${probe.error?.message ?? `exit ${probe.status}`}): these tests start their own Redis ` +
        'processes; install Redis 7 (e.g. `apt-get install redis-server`, which also provides redis-cli)',
    )
  }
}
