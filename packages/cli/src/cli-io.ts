/** Something the CLI writes text to: `process.stdout`, or a collector in a test. */
export interface CliWriter {
  /** Writes `text` as is; the CLI ends every line with `\n` itself. */
  write(text: string): unknown
}

/** What the CLI reads from and writes to; `runCli` takes each from the process when it is left out. */
export interface CliIo {
  /** Results: reports, JSON, the configuration, usage text. */
  stdout: CliWriter
  /** Usage errors, warnings next to JSON output, internal failures. */
  stderr: CliWriter
  /** Directory that relative paths on the command line are resolved against. */
  cwd: string
  /** Variables for `${VAR}` injection in the TOML files, and `LLMPOOL_ENV` / `LLMPOOL_DEBUG`. */
  env: NodeJS.ProcessEnv
  /** Stops long-running commands (`mock-upstream`). Default: the first SIGINT or SIGTERM. */
  signal?: AbortSignal
}
