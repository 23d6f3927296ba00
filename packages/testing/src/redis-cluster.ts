import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port'
import { runProgram, spawnRedisServer, stopProcess } from './redis-process'
import { requireProgram } from './require-program'

/** A three-master Redis Cluster of a test's own (see `startRedisCluster`). */
export interface RedisClusterProcesses {
  /** The masters, on 127.0.0.1: seed nodes for an ioredis `Cluster`. */
  readonly nodes: { host: string; port: number }[]
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>`, as llmpool's Redis options take it. */
  readonly url: string
  /** Kills every node and removes their directory. Call it in `afterAll`. */
  stop(): Promise<void>
}

/** How long the cluster may take to report `cluster_state:ok` on every node. */
const READY_WITHIN_MS = 20_000

/**
 * Starts three cluster-enabled redis-servers on free ports of 127.0.0.1 (each with its bus port free too), joins them
 * with `redis-cli --cluster create` (no replicas) and resolves once every node reports `cluster_state:ok` with all
 * 16 384 slots: keys of different hash tags then live on different nodes, as in production. Nothing is kept on disk.
 * Needs `redis-server` and `redis-cli` on PATH (an `Error` says what to install otherwise). Takes about a second.
 */
export async function startRedisCluster(): Promise<RedisClusterProcesses> {
  requireProgram('redis-server')
  requireProgram('redis-cli')
  const directory = mkdtempSync(join(tmpdir(), 'llmpool-redis-cluster-'))
  const children: ChildProcess[] = []
  const stop = async () => {
    await Promise.all(children.map((child) => stopProcess(child)))
    rmSync(directory, { recursive: true, force: true })
  }
  try {
    const ports: number[] = []
    while (ports.length < 3) {
      const port = await freePort({ bus: true })
      if (!ports.includes(port)) ports.push(port)
    }
    for (const port of ports) {
      const nodeConfig = join(directory, `nodes-${port}.conf`)
      children.push(
        await spawnRedisServer(
          port,
          ['--cluster-enabled', 'yes', '--cluster-config-file', nodeConfig, '--cluster-node-timeout', '5000'],
          directory,
        ),
      )
    }
    const created = runProgram('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed (${created.status}): ${created.output.slice(-2000)}`)
    const deadline = Date.now() + READY_WITHIN_MS
    for (;;) {
      const states = ports.map((port) => runProgram('redis-cli', ['-p', String(port), 'cluster', 'info']).output)
      if (
        states.every(
          (info) =>
            info.includes('cluster_state:ok') &&
            info.includes('cluster_slots_ok:16384') &&
            info.includes('cluster_known_nodes:3'),
        )
      )
        break
      if (Date.now() > deadline)
        throw new Error(
          `the cluster did not reach cluster_state:ok within ${READY_WITHIN_MS / 1000} s:\n${states.join('\n')}`,
        )
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }))
    return { nodes, url: `redis+cluster://${nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
