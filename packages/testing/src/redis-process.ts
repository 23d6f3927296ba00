import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'

/**
 * Starts `redis-server` on 127.0.0.1:`port` with nothing kept on disk (`--save "" --appendonly no`, files in
 * `directory`) and `args`; resolves once it accepts connections, rejects with the end of its output if it exits.
 */
export async function spawnRedisServer(
  port: number,
  args: readonly string[],
  directory: string,
): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      directory,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  try {
    await new Promise<void>((resolve, reject) => {
      const ready = () => {
        if (output.includes('Ready to accept connections')) resolve()
      }
      child.stdout!.on('data', ready)
      child.stderr!.on('data', ready)
      child.once('error', (error) => reject(new Error(`redis-server could not start: ${error.message}`)))
      child.once('exit', (code) =>
        reject(new Error(`redis-server on port ${port} exited (${code}): ${output.slice(-2000)}`)),
      )
    })
  } finally {
    child.removeAllListeners('exit')
    // Its later output is dropped (still read, so that a full pipe never blocks it).
    child.stdout!.removeAllListeners('data').resume()
    child.stderr!.removeAllListeners('data').resume()
  }
  return child
}

/** Sends `signal` (SIGKILL: like a crash) and waits for the exit; nothing when it has already exited. */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  await exited
}

/** Runs a program to its end (at most 30 s); its status and its output, stdout then stderr. */
export function runProgram(program: string, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 30_000 })
  return {
    status: result.status,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}`,
  }
}
