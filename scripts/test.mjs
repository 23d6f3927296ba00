// Runs `vitest run` with the root vitest.config.ts, streams its output, then prints one summary line
// `N passed, N failed[, N skipped]` computed from vitest's JSON report, and exits with vitest's exit code.
// Extra arguments go to vitest: `pnpm test packages/config` runs only that package's tests.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vitest = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vitest.cmd' : 'vitest')
const reportDirectory = mkdtempSync(join(tmpdir(), 'llmpool-test-'))
const reportFile = join(reportDirectory, 'vitest.json')

const child = spawn(
  vitest,
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal))
}

child.on('error', (error) => {
  console.error(`could not start vitest (${vitest}): ${error.message}; run \`pnpm install\` first`)
  rmSync(reportDirectory, { recursive: true, force: true })
  process.exit(1)
})

child.on('close', (code, signal) => {
  const summary = readSummary()
  rmSync(reportDirectory, { recursive: true, force: true })
  if (code !== 0 && (!summary || summary.failed === 0)) {
    console.log(`vitest exited with ${code ?? signal}`)
  }
  if (summary) {
    const parts = [`${summary.passed} passed`, `${summary.failed} failed`]
    if (summary.skipped > 0) parts.push(`${summary.skipped} skipped`)
    console.log(parts.join(', '))
  } else {
    console.log('0 passed, 0 failed (vitest wrote no report)')
  }
  process.exit(code ?? (signal ? 1 : 0))
})

function readSummary() {
  if (!existsSync(reportFile)) return undefined
  try {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'))
    // A file that failed outside any test (an import error, a throwing beforeAll) counts as one failure.
    const failedFiles = (report.testResults ?? []).filter(
      (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
    ).length
    return {
      passed: report.numPassedTests ?? 0,
      failed: (report.numFailedTests ?? 0) + failedFiles,
      skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    }
  } catch {
    return undefined
  }
}
