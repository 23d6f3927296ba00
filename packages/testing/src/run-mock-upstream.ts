import { loadFaultsFile } from './faults-file'
import { createMockUpstream } from './mock-upstream'
import type { MockUpstreamStats } from './recorder'

/** Options of `runMockUpstream()`. */
export interface RunMockUpstreamOptions {
  /** Port to listen on. Default 0: a free port. */
  port?: number
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string
  /** A faults file (`.toml`, or JSON otherwise), loaded once at start. */
  faultsFile?: string
  /** Seed of the random draws; overrides the file's `seed`. */
  seed?: number
  /** Stops the server when aborted. Default: the first SIGINT or SIGTERM. */
  signal?: AbortSignal
  /** Where the URL line goes. Default: standard output. */
  output?: { write(text: string): unknown }
}

/**
 * Runs a mock upstream as a command does: loads the faults file, listens, writes the URL on one line, serves until
 * the signal (or SIGINT/SIGTERM), closes every connection and resolves with the final counters. Throws
 * `InvalidFaultsError` for a bad faults file and the listen error (`EADDRINUSE`) for a busy port.
 */
export async function runMockUpstream(options: RunMockUpstreamOptions = {}): Promise<MockUpstreamStats> {
  const file = options.faultsFile === undefined ? undefined : await loadFaultsFile(options.faultsFile)
  const upstream = await createMockUpstream({
    ...file,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    seed: options.seed ?? file?.seed ?? 1,
  })
  ;(options.output ?? process.stdout).write(`${upstream.url}\n`)
  await waitForStop(options.signal)
  const stats = upstream.stats()
  await upstream.close()
  return stats
}

function waitForStop(signal: AbortSignal | undefined): Promise<void> {
  if (signal) {
    if (signal.aborted) return Promise.resolve()
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  }
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
