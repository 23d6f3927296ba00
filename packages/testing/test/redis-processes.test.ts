/**
 * The Redis process helpers: a standalone redis-server the test kills, pauses and restarts, and a three-master
 * cluster, spoken to over raw RESP (this package does not depend on a Redis client).
 */
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer, Socket } from 'node:net'
import {
  freePort,
  type RedisClusterProcesses,
  type RedisServer,
  requireProgram,
  startRedisCluster,
  startRedisServer,
} from '@llmpool/testing'
import { afterAll, describe, expect, test } from 'vitest'

/** Sends one inline command; resolves with the first reply line, or rejects (refused, or no reply within `ms`). */
function command(port: number, line: string, ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no reply within ${ms} ms`))
    }, ms)
    let reply = ''
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (!reply.includes('\r\n')) return
      clearTimeout(timer)
      socket.end()
      resolve(reply.slice(0, reply.indexOf('\r\n')))
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`))
  })
}

describe('startRedisServer', () => {
  let server: RedisServer | undefined
  afterAll(() => server?.stop())

  test('answers at its url; kill, restart (empty), pause and resume, stop', async () => {
    server = await startRedisServer()
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(await command(server.port, 'PING')).toBe('+PONG')
    expect(await command(server.port, 'SET llmpool-test-key 1')).toBe('+OK')

    await server.kill()
    await expect(command(server.port, 'PING')).rejects.toThrow(/ECONNREFUSED/)
    await server.restart()
    expect(await command(server.port, 'PING')).toBe('+PONG')
    // Nothing was persisted.
    expect(await command(server.port, 'EXISTS llmpool-test-key')).toBe(':0')

    server.pause()
    await expect(command(server.port, 'PING', 300)).rejects.toThrow(/no reply/)
    server.resume()
    expect(await command(server.port, 'PING')).toBe('+PONG')

    server.pause()
    await server.stop()
    await expect(command(server.port, 'PING')).rejects.toThrow(/ECONNREFUSED/)
    server = undefined
  })
})

describe('startRedisCluster', () => {
  let cluster: RedisClusterProcesses | undefined
  afterAll(() => cluster?.stop())

  test('three masters sharing the 16 384 slots, at a redis+cluster:// url; stop kills them', async () => {
    cluster = await startRedisCluster()
    expect(cluster.nodes).toHaveLength(3)
    expect(cluster.url).toBe(`redis+cluster://${cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`)
    for (const { port } of cluster.nodes) {
      const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout
      expect(info).toContain('cluster_state:ok')
      expect(info).toContain('cluster_slots_assigned:16384')
      expect(info).toContain('cluster_size:3')
    }
    // A key lives on one master; the others redirect.
    const replies = await Promise.all(cluster.nodes.map(({ port }) => command(port, 'GET {llmpool-test}:key')))
    expect(replies.filter((reply) => reply.startsWith('-MOVED'))).toHaveLength(2)
    await cluster.stop()
    for (const { port } of cluster.nodes) await expect(command(port, 'PING')).rejects.toThrow(/ECONNREFUSED/)
    cluster = undefined
  })
})

describe('freePort', () => {
  async function bind(port: number): Promise<void> {
    const server = createServer()
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    server.close()
    await once(server, 'close')
  }

  test('a port that can be bound; with `bus`, port + 10 000 too', async () => {
    await bind(await freePort())
    const port = await freePort({ bus: true })
    expect(port).toBeLessThanOrEqual(55_535)
    await bind(port)
    await bind(port + 10_000)
  })
})

describe('requireProgram', () => {
  test('passes when the program runs; otherwise says what to install', () => {
    expect(() => requireProgram('redis-server')).not.toThrow()
    expect(() => requireProgram('redis-cli')).not.toThrow()
    const path = process.env.PATH
    process.env.PATH = ''
    try {
      expect(() => requireProgram('redis-cli')).toThrow(/redis-cli is not on PATH .*install Redis 7/)
    } finally {
      process.env.PATH = path
    }
  })
})
