import { once } from 'node:events'
import { createServer } from 'node:net'

/** Options of `freePort()`. */
export interface FreePortOptions {
  /** Also require port + 10 000 to be free: a Redis Cluster node's bus port. The port is then below 55 536. */
  bus?: boolean
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
 * A TCP port on 127.0.0.1 that the OS says is free now (it may be taken again before you bind it, as with any such
 * helper). Rejects after 50 tries without one.
 */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
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
  throw new Error(options.bus ? 'no free port found with a free bus port 10 000 above it' : 'no free port found')
}
