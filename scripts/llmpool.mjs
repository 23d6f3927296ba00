// `pnpm llmpool ...`: builds the CLI and the packages it uses (`--build-only`: builds every package and stops), then
// runs `llmpool` with the given arguments and its exit code. The build says what it builds, a line per package on
// stderr (the first one takes about a minute); turbo's cache makes later ones near-instant, and then it is quiet.
import { createInterface } from 'node:readline'
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }

const buildOnly = process.argv[2] === '--build-only'
// The CLI and what it uses; `--build-only` (the demo) builds every package.
const filter = buildOnly ? [] : ['--filter=@llmpool/cli...']
const build = await buildPackages(filter)
if (build.status !== 0) {
  process.stderr.write(build.log)
  console.error(
    build.error ? `could not build the packages: ${build.error.message}` : 'could not build the packages (see above)',
  )
  process.exit(2)
}
if (buildOnly) {
  // The demo's first line: one, when there was nothing to build.
  if (build.built === 0) console.error('packages up to date')
  process.exit(0)
}

// pnpm runs scripts in the repository root; INIT_CWD is where the user typed the command. Relative paths on the
// command line (`validate ./my-config`, `init ./configs/llms`) are the user's, as for the demo and the gateway.
const cli = spawnSync(process.execPath, [join(root, 'packages', 'cli', 'dist', 'bin.js'), ...process.argv.slice(2)], {
  cwd: process.env.INIT_CWD || process.cwd(),
  stdio: 'inherit',
})
process.exit(cli.status ?? 2)

/**
 * `turbo run build` with its machine-readable output (`--json`: a JSON line per log line, with the task it comes
 * from), read as it comes: a task's first line, `cache miss, executing <hash>`, is a package starting to build, and
 * becomes `building @llmpool/x ...`; a cache hit says nothing (`--output-logs=new-only` replays no logs). Everything
 * is kept, to be shown if the build fails.
 */
async function buildPackages(filter) {
  const started = Date.now()
  const child = spawn(join(bin, 'turbo'), ['run', 'build', ...filter, '--json', '--output-logs=new-only'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  let built = 0
  let cached = 0
  let spawnError
  const exited = new Promise((resolve) => {
    child.once('error', (error) => {
      spawnError = error
      resolve(2)
    })
    child.once('close', (code) => resolve(code ?? 2))
  })
  child.stderr.on('data', (chunk) => (log += chunk))
  for await (const line of createInterface({ input: child.stdout })) {
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      log += `${line}\n`
      continue
    }
    const task = entry.source === 'turbo' ? undefined : String(entry.source).replace(/#build$/, '')
    log += task ? `${task}: ${entry.text}\n` : `${entry.text}\n`
    // `cache miss, executing <hash>` (or `cache bypass, force executing` with --force): the task starts building.
    if (task && /^cache (miss|bypass)/.test(entry.text)) {
      if (built++ === 0)
        console.error('building the packages that changed (the first build takes about a minute; later ones reuse it)')
      console.error(`  building ${task} ...`)
    } else if (task && /^cache hit/.test(entry.text)) cached++
  }
  const status = await exited
  if (status === 0 && built > 0)
    console.error(
      `built ${built} package${built === 1 ? '' : 's'}${cached > 0 ? ` (${cached} up to date)` : ''} in ${Math.round((Date.now() - started) / 1000)} s`,
    )
  return { status, error: spawnError, log, built }
}
