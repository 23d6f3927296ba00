#!/usr/bin/env node
// `llmpool-gateway [options]`: see `llmpool-gateway --help`. The exit code says how it stopped (0 clean, 1 invalid
// configuration, 2 usage error or failure).
import { runGateway } from './run'

process.exitCode = await runGateway(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  // `pnpm gateway` runs from the repository root; INIT_CWD is where it was typed.
  cwd: process.env.INIT_CWD ?? process.cwd(),
  // A parent that forked us (tests, the distributed example) learns the URL.
  onListening: (gateway) => process.send?.({ url: gateway.url }),
})
// Open handles (a keep-alive socket of the upstream pool) must not keep a stopped gateway alive.
if (process.exitCode !== undefined) setTimeout(() => process.exit(), 1_000).unref()
