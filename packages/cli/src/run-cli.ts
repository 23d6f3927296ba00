import { didYouMean } from '@llmpool/config'
import type { CliIo } from './cli-io'
import type { Command } from './command'
import { explainCommand } from './commands/explain'
import { initCommand } from './commands/init'
import { mockUpstreamCommand } from './commands/mock-upstream'
import { schemaCommand } from './commands/schema'
import { serveCommand } from './commands/serve'
import { validateCommand } from './commands/validate'
import { EXIT_CODES, type ExitCode } from './exit-codes'
import { UsageError } from './usage-error'
import { packageVersion } from './version'

const commands: readonly Command[] = [
  initCommand,
  validateCommand,
  explainCommand,
  schemaCommand,
  serveCommand,
  mockUpstreamCommand,
]

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return `Usage: llmpool <command> [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Options:
  -h, --help     show this help (or "llmpool <command> --help", "llmpool help <command>")
  --version      print the version of @llmpool/cli

Exit codes: 0 ok, 1 invalid configuration, 2 usage error or failure.
Set LLMPOOL_DEBUG=1 to see the stack trace of an unexpected failure.
`
}

function commandNamed(name: string): Command {
  const command = commands.find((candidate) => candidate.name === name)
  if (command) return command
  const known = commands.map((candidate) => candidate.name)
  throw new UsageError(`unknown command "${name}"${didYouMean(name, known, 5) || `; commands: ${known.join(', ')}`}`, {
    help: 'llmpool --help',
  })
}

async function dispatch(argv: string[], io: CliIo): Promise<ExitCode> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(usage())
    return EXIT_CODES.ok
  }
  if (first === 'help') {
    io.stdout.write(rest[0] === undefined ? usage() : commandNamed(rest[0]).usage)
    return EXIT_CODES.ok
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${packageVersion()}\n`)
    return EXIT_CODES.ok
  }
  if (first.startsWith('-'))
    throw new UsageError(`unknown option ${first} (give a command first)`, { help: 'llmpool --help' })
  return commandNamed(first).run(rest, io)
}

/**
 * Runs `llmpool` with `argv` (the arguments after the program name) and resolves to its exit code: 0 ok,
 * 1 invalid configuration, 2 usage error or failure. Never calls `process.exit`, never rejects; a user's mistake
 * is one line on stderr, an unexpected failure too (with its stack when `LLMPOOL_DEBUG=1`).
 */
export async function runCli(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const complete: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    cwd: io.cwd ?? process.cwd(),
    env: io.env ?? process.env,
    ...(io.signal ? { signal: io.signal } : {}),
  }
  try {
    return await dispatch(argv, complete)
  } catch (error) {
    if (error instanceof UsageError) {
      const message = error.message.startsWith('llmpool') ? error.message : `llmpool: ${error.message}`
      complete.stderr.write(`${message}${error.help ? ` (see "${error.help}")` : ''}\n`)
      return EXIT_CODES.usage
    }
    const debug = complete.env.LLMPOOL_DEBUG === '1'
    const message = error instanceof Error ? error.message : String(error)
    complete.stderr.write(
      debug && error instanceof Error && error.stack
        ? `llmpool: internal error: ${error.stack}\n`
        : `llmpool: internal error: ${message} (set LLMPOOL_DEBUG=1 for the stack trace)\n`,
    )
    return EXIT_CODES.usage
  }
}
