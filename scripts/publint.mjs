// `pnpm lint:publint`: runs `publint --strict` in every publishable package under packages/* and exits non-zero if
// any of them fails. node_modules/.bin goes first on PATH so publint finds the workspace's pnpm to pack with.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const publint = join(bin, process.platform === 'win32' ? 'publint.cmd' : 'publint')
const packagesDirectory = join(root, 'packages')
const environment = { ...process.env, PATH: [bin, process.env.PATH].filter(Boolean).join(delimiter) }

const packages = readdirSync(packagesDirectory, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(packagesDirectory, entry.name, 'package.json')))
  .map((entry) => join(packagesDirectory, entry.name))
  .filter((directory) => JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')).private !== true)
  .sort()

const failed = []
for (const directory of packages) {
  const { name } = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'))
  console.log(`\n# ${name}`)
  const result = spawnSync(publint, ['--strict'], { cwd: directory, stdio: 'inherit', env: environment })
  if (result.error) console.error(`could not run publint: ${result.error.message}`)
  if (result.status !== 0) failed.push(name)
}

console.log(
  failed.length === 0
    ? `\npublint: ${packages.length} package(s) clean`
    : `\npublint failed in ${failed.length} of ${packages.length} package(s): ${failed.join(', ')}`,
)
process.exit(failed.length === 0 ? 0 : 1)
