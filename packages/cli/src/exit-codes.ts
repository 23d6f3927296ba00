/** Exit codes of every command; `runCli` returns one of them. */
export const EXIT_CODES = {
  /** The configuration is valid, or the command did what it was asked. */
  ok: 0,
  /** The configuration has errors. */
  invalid: 1,
  /** The command line is wrong (unknown command, flag or name; missing directory), or llmpool failed. */
  usage: 2,
} as const

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]
