import type { CliIo } from '../cli-io'
import type { Command } from '../command'
import { EXIT_CODES, type ExitCode } from '../exit-codes'

const MISSING = `llmpool serve runs the gateway of @llmpool/gateway, which is not installed.
Install it next to the CLI:  npm install @llmpool/gateway
(or run it directly:  npx @llmpool/gateway --config DIR)
`

type GatewayModule = typeof import('@llmpool/gateway')

/** The gateway package, loaded only by `serve`; undefined when it is not installed. */
async function loadGateway(load: () => Promise<unknown>): Promise<GatewayModule | undefined> {
  try {
    return (await load()) as GatewayModule
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      String((error as Error).message).includes('@llmpool/gateway')
    if (missing) return undefined
    throw error
  }
}

async function run(args: string[], io: CliIo, load: () => Promise<unknown>): Promise<ExitCode> {
  const gateway = await loadGateway(load)
  if (!gateway) {
    io.stderr.write(MISSING)
    return EXIT_CODES.usage
  }
  const code = await gateway.runGateway(args, {
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    cwd: io.cwd,
    program: 'llmpool serve',
    ...(io.signal ? { signal: io.signal } : {}),
  })
  return code as ExitCode
}

/** `llmpool serve`; `load` imports the gateway package (a test gives one that fails as a missing package does). */
export function createServeCommand(load: () => Promise<unknown> = () => import('@llmpool/gateway')): Command {
  const command: Command = {
    name: 'serve',
    summary: 'run the OpenAI-compatible gateway (needs @llmpool/gateway)',
    usage: `Usage: llmpool serve [options]

Runs the gateway of @llmpool/gateway (an optional dependency of the CLI) over a configuration directory.
"llmpool serve --help" lists its options once the package is installed; they are those of "llmpool-gateway".
`,
    run: async (args, io) => {
      if (args.includes('--help') || args.includes('-h')) {
        const gateway = await loadGateway(load)
        io.stdout.write(gateway ? gateway.gatewayUsage('llmpool serve') : `${command.usage}\n${MISSING}`)
        return EXIT_CODES.ok
      }
      return run(args, io, load)
    },
  }
  return command
}

export const serveCommand = createServeCommand()
