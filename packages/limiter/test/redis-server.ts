/**
 * Redis processes of a test's own, on free ports: a standalone server that the test may kill, pause and restart, or
 * a three-master Redis Cluster. They keep nothing on disk (`--save "" --appendonly no`, a temporary directory) and
 * are killed by `stop()`, which the test calls in `afterAll`. CI starts only one Redis on 6379, so the tests that
 * need these start them here. A missing `redis-server` or `redis-cli` fails the test with a message that says what
 * to install: nothing is skipped.
 *
 * Used by the breaker's tests too (a copy per package would drift; @llmpool/testing is the later home).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Throws a clear error when a Redis program is not installed. */
export function requireProgram(program: 'redis-server' | 'redis-cli'): void {
  const probe = spawnSync(program, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${program} is not on PATH (${probe.error?.message ?? `exit ${probe.status}`}): these tests start their own Redis ` +
        'processes; install Redis 7 (e.g. `apt-get install redis-server`, which also provides redis-cli)',
    )
  }
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer()
  try {
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return true
  } catch {
    return false
  } finally {
    server.close()
  }
}

/**
 * A port the OS says is free. With `bus`, port + 10 000 is free too (a cluster node's bus port), so the port is
 * below 55 536.
 */
export async function freePort(options: { bus?: boolean } = {}): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const probe = createServer()
    probe.listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const { port } = probe.address() as { port: number }
    probe.close()
    await once(probe, 'close')
    if (!options.bus) return port
    if (port + 10_000 <= 65_535 && (await bindable(port + 10_000))) return port
  }
  throw new Error('no free port found (with a free bus port 10 000 above it)')
}

/** Starts redis-server with `args` and resolves once it accepts connections. */
async function spawnServer(port: number, args: string[], directory: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', directory, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (error) => reject(new Error(`redis-server could not start: ${error.message}`)))
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code}): ${output.slice(-2000)}`)))
  })
  child.removeAllListeners('exit')
  return child
}

async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  await exited
}

/** A standalone redis-server of the test's own. */
export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** SIGKILL, like a crash: connections drop at once. */
  kill(): Promise<void>
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>
  /** SIGSTOP: connections stay open, nothing answers (a hung Redis). */
  pause(): void
  /** SIGCONT. */
  resume(): void
  /** Kills it (if running) and removes its directory. */
  stop(): Promise<void>
}

export async function startRedisServer(): Promise<RedisServer> {
  requireProgram('redis-server')
  const port = await freePort()
  const directory = mkdtempSync(join(tmpdir(), 'llmpool-redis-'))
  let child: ChildProcess | undefined = await spawnServer(port, [], directory)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      await kill(child)
      child = undefined
    },
    restart: async () => {
      await kill(child)
      child = await spawnServer(port, [], directory)
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    stop: async () => {
      // A paused server dies on SIGKILL too.
      await kill(child)
      child = undefined
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

/** A three-master Redis Cluster of the test's own. */
export interface RedisClusterProcesses {
  readonly nodes: { host: string; port: number }[]
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` */
  readonly url: string
  /** Kills every node and removes their directory. */
  stop(): Promise<void>
}

function run(program: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}` }
}

/**
 * Starts three cluster-enabled redis-servers, joins them with `redis-cli --cluster create` (no replicas) and waits
 * until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisClusterProcesses> {
  requireProgram('redis-server')
  requireProgram('redis-cli')
  const directory = mkdtempSync(join(tmpdir(), 'llmpool-redis-cluster-'))
  const children: ChildProcess[] = []
  const stop = async () => {
    await Promise.all(children.map((child) => kill(child)))
    rmSync(directory, { recursive: true, force: true })
  }
  try {
    const ports: number[] = []
    while (ports.length < 3) {
      const port = await freePort({ bus: true })
      if (!ports.includes(port)) ports.push(port)
    }
    for (const port of ports) {
      children.push(
        await spawnServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(directory, `nodes-${port}.conf`), '--cluster-node-timeout', '5000'], directory),
      )
    }
    const created = run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status}): ${created.output.slice(-2000)}`)
    const deadline = Date.now() + 20_000
    for (;;) {
      const states = ports.map((port) => run('redis-cli', ['-p', String(port), 'cluster', 'info']).output)
      if (states.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes('cluster_known_nodes:3'))) break
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok within 20 s:\n${states.join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }))
    return { nodes, url: `redis+cluster://${nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
