// `pnpm bench NAME [args...]` builds the packages (turbo, cached), then runs bench/NAME.ts with tsx. Packages
// resolve to their built dist/, so a benchmark measures the code users run (tsx's transform of sources adds
// per-closure helpers that would distort microsecond figures). Without a known NAME it lists the benchmarks and
// exits 2.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const benchDirectory = join(root, 'bench')
const tsx = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx')

const available = existsSync(benchDirectory)
  ? readdirSync(benchDirectory)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => file.slice(0, -'.ts'.length))
      .sort()
  : []

const [name, ...rest] = process.argv.slice(2)

if (!name || !available.includes(name)) {
  if (name) console.error(`unknown benchmark: ${name}`)
  console.error('usage: pnpm bench NAME [args...]')
  console.error(
    available.length > 0
      ? `available benchmarks:\n${available.map((n) => `  ${n}`).join('\n')}`
      : 'no benchmarks yet (bench/*.ts)',
  )
  process.exit(2)
}

const binDirectory = join(root, 'node_modules', '.bin')
const build = spawnSync(join(binDirectory, 'turbo'), ['run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  env: { ...process.env, PATH: `${binDirectory}:${process.env.PATH ?? ''}` },
  encoding: 'utf8',
})
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`)
  console.error('the build failed: benchmarks run against the built packages')
  process.exit(1)
}
const nodeOptions = process.env.NODE_OPTIONS ?? ''
const child = spawn(tsx, [join(benchDirectory, `${name}.ts`), ...rest], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: nodeOptions },
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal))
}
child.on('error', (error) => {
  console.error(`could not start tsx (${tsx}): ${error.message}; run \`pnpm install\` first`)
  process.exit(1)
})
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
