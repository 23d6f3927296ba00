// Runs the gateway as a program: parse the command line, start, log, stop on a signal. Shared by the
// `llmpool-gateway` bin and `llmpool serve`.
import { setFlagsFromString } from 'node:v8'
import { ConfigError } from '@llmpool/config'
import { textDestination } from '@llmpool/wrappers'
import { destination, type Logger, pino, symbols } from 'pino'
import type { AccessLogger } from './access-log'
import { GATEWAY_EXIT_CODES, type GatewayCommand, GatewayUsageError, gatewayUsage, parseGatewayArgs } from './cli'
import { packageVersion } from './version'
import { type Gateway, startGateway } from './server'

export interface RunGatewayIo {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  env: Record<string, string | undefined>
  cwd: string
  /** The name in help and error lines. Default `llmpool-gateway`. */
  program?: string
  /** Stops the gateway (as SIGTERM does). Default: SIGINT, SIGTERM and an IPC disconnect. */
  signal?: AbortSignal
  /** Called once the gateway listens. */
  onListening?: (gateway: Gateway) => void
}

/** The pino logger the command line asks for: JSON lines, or one readable line per record. */
export function gatewayLogger(
  command: Pick<GatewayCommand, 'logLevel' | 'logFormat'>,
  out: { write(text: string): unknown },
) {
  const destination = command.logFormat === 'pretty' ? textDestination(out) : out
  return pino({ level: command.logLevel, base: undefined, messageKey: 'msg' }, destination as never)
}

/**
 * The access log's logger for a logger made by `gatewayLogger`: the line pino would write for the record (its level
 * and time, the fields, the message), put together from the fields' JSON rather than by pino from an object, and
 * written to the logger's own destination. Its level still decides: below `info`, no access lines.
 */
export function accessLogger(logger: Logger): AccessLogger {
  const out = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[symbols.streamSym]!
  return {
    info: (object, message) => logger.info(object, message),
    line(fields) {
      if (logger.isLevelEnabled('info')) out.write(`{"level":30,"time":${Date.now()},${fields},"msg":"request"}\n`)
    },
  }
}

/**
 * Where the log goes. On the process's own stdout, lines are buffered (about 60 KiB, at most 250 ms) and written
 * off the request path: a write(2) per access line costs more than routing the request. Elsewhere (a test's
 * collector), each line as it comes.
 */
function logOutput(out: RunGatewayIo['stdout']): { out: RunGatewayIo['stdout']; flush(): void } {
  if (out !== process.stdout) return { out, flush: () => undefined }
  const lines = new LineBatch(destination({ dest: 1, sync: false, maxWrite: 65_536 }))
  const timer = setInterval(() => lines.flush(), 250)
  timer.unref()
  return {
    out: lines,
    flush: () => {
      clearInterval(timer)
      try {
        lines.flush()
        lines.sink.flushSync()
      } catch {
        // Not ready yet (nothing written) or stdout closed: nothing to save.
      }
    },
  }
}

/**
 * Log lines gathered into pieces of about 60 KiB (below the sink's largest write, 64 KiB, a pipe's whole buffer)
 * before they reach the sink: each asynchronous write is a round trip through libuv's thread pool, and waking its
 * thread cost about a microsecond per access line at 15 KiB pieces (a profile of the benchmark; it was sonic-boom's
 * default largest write, 16 KiB). (sonic-boom's own `minLength` appends each line to one string and measures it
 * again, copying the buffer at every line: a few microseconds per access line.)
 */
class LineBatch {
  private lines: string[] = []
  private size = 0

  constructor(readonly sink: ReturnType<typeof destination>) {}

  write(line: string): boolean {
    this.lines.push(line)
    this.size += line.length
    if (this.size >= 61_440) this.flush()
    return true
  }

  flush(): void {
    if (this.lines.length === 0) return
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('')
    this.lines = []
    this.size = 0
    this.sink.write(text)
  }
}

/**
 * The V8 flags the gateway command sets on its own process: `--no-allocation-site-pretenuring`. Under a proxy's load
 * V8 starts allocating some per-request objects straight into the old generation, and every young object they point
 * to then survives the young collections until the next full one: with it on, each young collection of a busy
 * gateway copied and promoted about 2.4 MB (pauses of 11–14 ms every ~130 ms); with it off, 0.5 MB (3–4 ms).
 * docs/decisions/0009-gateway-pass-through.md has the figures. None when NODE_OPTIONS or node's own flags name the
 * flag already, either way: the operator decided. (`startGateway` sets nothing: an application that embeds the
 * gateway decides for its own process.)
 */
export function gatewayV8Flags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
  return given.some((flag) => /^--(no[-_])?allocation[-_]site[-_]pretenuring(=.*)?$/.test(flag))
    ? []
    : ['--no-allocation-site-pretenuring']
}

/**
 * Runs `llmpool-gateway` with `argv` and resolves to its exit code once the gateway stopped (after a signal and its
 * drain), or at once for `--help`, `--version` and every mistake. Never calls `process.exit`.
 */
export async function runGateway(argv: readonly string[], io: RunGatewayIo): Promise<number> {
  const program = io.program ?? 'llmpool-gateway'
  let command: ReturnType<typeof parseGatewayArgs>
  try {
    command = parseGatewayArgs(argv, io.env, io.cwd)
  } catch (error) {
    if (!GatewayUsageError.isInstance(error)) throw error
    io.stderr.write(`${program}: ${error.message} (see "${program} --help")\n`)
    return GATEWAY_EXIT_CODES.usage
  }
  if (command === 'help') {
    io.stdout.write(gatewayUsage(program))
    return GATEWAY_EXIT_CODES.ok
  }
  if (command === 'version') {
    io.stdout.write(`${packageVersion()}\n`)
    return GATEWAY_EXIT_CODES.ok
  }
  for (const flag of gatewayV8Flags(process.execArgv, io.env.NODE_OPTIONS)) setFlagsFromString(flag)
  const output = logOutput(io.stdout)
  const logger = gatewayLogger(command, output.out)
  let gateway: Gateway
  try {
    gateway = await startGateway({
      ...command.options,
      env: io.env,
      token: io.env.LLMPOOL_GATEWAY_TOKEN ?? '',
      logger,
      accessLog: { logger: accessLogger(logger), bodies: command.logBodies },
    })
  } catch (error) {
    if (ConfigError.isInstance(error)) {
      output.flush()
      for (const problem of error.problems) {
        const where = problem.file
          ? `${problem.file}:${problem.line ?? '?'}  ${problem.path}  `
          : problem.path
            ? `${problem.path}  `
            : ''
        io.stderr.write(`${where}${problem.message}\n`)
      }
      return GATEWAY_EXIT_CODES.invalid
    }
    output.flush()
    io.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`)
    return GATEWAY_EXIT_CODES.usage
  }
  const config = gateway.store.current
  logger.info(
    {
      url: gateway.url,
      dashboard: gateway.dashboard,
      config: command.options.config,
      hash: config.source.hash,
      watch: gateway.store.stats().watching,
      redis: command.options.redis !== undefined,
    },
    // The message stays as scripts match it; the dashboard's URL is a field (`dashboard=...` in the pretty format).
    `llmpool gateway listening on ${gateway.url}`,
  )
  io.onListening?.(gateway)
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (reason: string) => {
      if (stopping) return
      stopping = true
      logger.info({ reason, inFlight: gateway.inFlight() }, 'draining')
      void gateway.close().then(
        () => {
          logger.info({}, 'stopped')
          cleanup()
          resolve(GATEWAY_EXIT_CODES.ok)
        },
        (error: unknown) => {
          logger.error({ err: error }, 'stopped with an error')
          cleanup()
          resolve(GATEWAY_EXIT_CODES.usage)
        },
      )
    }
    const onSigint = () => stop('SIGINT')
    const onSigterm = () => stop('SIGTERM')
    const onDisconnect = () => stop('disconnect')
    const onAbort = () => stop('signal')
    const cleanup = () => {
      output.flush()
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigterm)
      process.off('disconnect', onDisconnect)
      io.signal?.removeEventListener('abort', onAbort)
    }
    if (io.signal) {
      if (io.signal.aborted) return stop('signal')
      io.signal.addEventListener('abort', onAbort, { once: true })
    } else {
      process.on('SIGINT', onSigint)
      process.on('SIGTERM', onSigterm)
      process.on('disconnect', onDisconnect)
    }
  })
}
