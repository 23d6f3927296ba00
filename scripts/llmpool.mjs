// `pnpm llmpool ...`: builds the CLI and the packages it uses (`--build-only`: builds every package and stops) (quietly; turbo's cache makes this near-instant after
// the first time), then runs `llmpool` with the given arguments and its exit code.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }

const buildOnly = process.argv[2] === '--build-only'
// The CLI and what it uses; `--build-only` (the demo) builds every package.
const filter = buildOnly ? [] : ['--filter=@llmpool/cli...']
const build = spawnSync(join(bin, 'turbo'), ['run', 'build', ...filter, '--output-logs=errors-only'], {
  cwd: root,
  env,
  encoding: 'utf8',
})
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? '')
  process.stderr.write(build.stderr ?? '')
  console.error(build.error ? `could not build the CLI: ${build.error.message}` : 'could not build the CLI (see above)')
  process.exit(2)
}

if (buildOnly) process.exit(0)

const cli = spawnSync(process.execPath, [join(root, 'packages', 'cli', 'dist', 'bin.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
})
process.exit(cli.status ?? 2)
