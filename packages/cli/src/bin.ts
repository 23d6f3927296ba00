#!/usr/bin/env node
import { runCli } from './index'

// `llmpool explain | head`: a closed pipe is not a failure worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
}

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
