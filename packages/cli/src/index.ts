export { runCli } from './run-cli'
export type { CliIo, CliWriter } from './cli-io'
export { EXIT_CODES, type ExitCode } from './exit-codes'
