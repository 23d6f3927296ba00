// Users install only the packages they need from npm. This test packs every publishable workspace package the way
// `pnpm publish` would, installs the tarballs with plain npm into a fresh project outside the workspace, and checks
// that each package imports under plain Node and that every CLI runs. It catches `workspace:` ranges left in a
// manifest, runtime dependencies declared only as devDependencies, and files missing from `files`. A second project
// gets the library packages alone and compiles a user's TypeScript file against their declarations.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMockUpstream } from '@llmpool/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pnpm = join(root, 'node_modules', '.bin', 'pnpm')

type PackageManifest = {
  name: string
  version: string
  private?: boolean
  repository?: { type: string; url: string; directory: string }
  bin?: string | Record<string, string>
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

type WorkspacePackage = { directory: string; manifest: PackageManifest }

function publishablePackages(): WorkspacePackage[] {
  const packagesDirectory = join(root, 'packages')
  if (!existsSync(packagesDirectory)) return []
  return readdirSync(packagesDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(packagesDirectory, entry.name, 'package.json')))
    .map((entry) => {
      const directory = join(packagesDirectory, entry.name)
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as PackageManifest
      return { directory, manifest }
    })
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))
}

function binNames(manifest: PackageManifest): string[] {
  if (manifest.bin === undefined) return []
  if (typeof manifest.bin === 'string') return [manifest.name.replace(/^@[^/]+\//, '')]
  return Object.keys(manifest.bin)
}

/** The environment for child processes, without the npm_config_* variables a parent `pnpm run` injects. */
function childEnvironment(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig'])
  const environment: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') && !keep.has(key.toLowerCase())) continue
    environment[key] = value
  }
  delete environment.NODE_OPTIONS
  return environment
}

function run(command: string, args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: childEnvironment() })
}

type RunResult = Pick<SpawnSyncReturns<string>, 'status' | 'signal' | 'stdout' | 'stderr' | 'error'>

/**
 * `run` without blocking this process, for a child that talks to a server this process serves (the mock upstream):
 * `spawnSync` would stop the event loop, so the server could never answer.
 */
function runAsync(command: string, args: string[], cwd: string, timeout: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: childEnvironment(), timeout, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let error: Error | undefined
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', (caught) => (error = caught))
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr, error }))
  })
}

function describeRun(label: string, result: RunResult): string {
  const status = result.error ? `error ${result.error.message}` : `exit ${result.status ?? result.signal}`
  return `${label}: ${status}\n--- stdout ---\n${result.stdout ?? ''}\n--- stderr ---\n${result.stderr ?? ''}`
}

/** Where `pnpm pack` puts a package: `@llmpool/router` 0.0.0 → `llmpool-router-0.0.0.tgz`. */
function tarballName(manifest: PackageManifest): string {
  return `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`
}

/** The names of `names` and of every @llmpool package they depend on, directly or not. */
function withWorkspaceDependencies(names: string[]): string[] {
  const byName = new Map(packages.map(({ manifest }) => [manifest.name, manifest]))
  const found = new Set<string>()
  const visit = (name: string) => {
    if (found.has(name)) return
    found.add(name)
    for (const dependency of Object.keys(byName.get(name)?.dependencies ?? {}))
      if (byName.has(dependency)) visit(dependency)
  }
  names.forEach(visit)
  return [...found].sort()
}

const packages = publishablePackages()
const license = readFileSync(join(root, 'LICENSE'), 'utf8')
const rootDevDependencies =
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageManifest).devDependencies ?? {}

describe('packed packages install and run outside the workspace', () => {
  let workDirectory = ''
  let tarballDirectory = ''
  let projectDirectory = ''
  let configsCopy = ''

  beforeAll(() => {
    const unbuilt = packages.filter(({ directory }) => !existsSync(join(directory, 'dist')))
    if (unbuilt.length > 0) {
      throw new Error(
        `no dist/ in ${unbuilt.map(({ manifest }) => manifest.name).join(', ')}: run \`pnpm build\` first ` +
          '(`pnpm test` builds before testing)',
      )
    }
    if (packages.length === 0) return

    workDirectory = mkdtempSync(join(tmpdir(), 'llmpool-pack-'))
    tarballDirectory = join(workDirectory, 'tarballs')
    projectDirectory = join(workDirectory, 'project')

    for (const { directory, manifest } of packages) {
      const packed = run(pnpm, ['pack', '--pack-destination', tarballDirectory], directory, 120_000)
      if (packed.status !== 0) throw new Error(describeRun(`pnpm pack of ${manifest.name}`, packed))
    }
    const tarballs = readdirSync(tarballDirectory)
      .filter((file) => file.endsWith('.tgz'))
      .map((file) => join(tarballDirectory, file))
    if (tarballs.length !== packages.length) {
      throw new Error(`expected ${packages.length} tarballs in ${tarballDirectory}, found ${tarballs.length}`)
    }

    configsCopy = join(workDirectory, 'configs', 'llms')
    cpSync(join(root, 'configs', 'llms'), configsCopy, { recursive: true })

    mkdirSync(projectDirectory)
    writeFileSync(
      join(projectDirectory, 'package.json'),
      `${JSON.stringify({ name: 'llmpool-pack-check', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`,
    )

    // `openai`: the client a gateway user points at it (the version the workspace tests with).
    const openaiVersion = JSON.parse(readFileSync(join(root, 'packages', 'gateway', 'package.json'), 'utf8'))
      .devDependencies.openai as string
    const installed = run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts=false',
        '--prefer-offline',
        ...tarballs,
        `openai@${openaiVersion}`,
      ],
      projectDirectory,
      240_000,
    )
    if (installed.status !== 0) throw new Error(describeRun('npm install of the packed tarballs', installed))
  }, 300_000)

  afterAll(() => {
    if (workDirectory && !process.env.LLMPOOL_KEEP_PACK_DIR) rmSync(workDirectory, { recursive: true, force: true })
  })

  it('finds every publishable package', () => {
    expect(packages.map(({ manifest }) => manifest.name).sort()).toEqual([
      '@llmpool/breaker',
      '@llmpool/cli',
      '@llmpool/config',
      '@llmpool/dashboard',
      '@llmpool/gateway',
      '@llmpool/limiter',
      '@llmpool/router',
      '@llmpool/schema',
      '@llmpool/testing',
      '@llmpool/wrappers',
    ])
  })

  for (const { directory, manifest } of packages) {
    it(manifest.name, () => {
      const installedManifestPath = join(projectDirectory, 'node_modules', ...manifest.name.split('/'), 'package.json')
      expect(existsSync(installedManifestPath), `${manifest.name} is not installed`).toBe(true)

      // No `workspace:` range may survive packing, in this package or any other installed @llmpool package, nor
      // the `@llmpool/source` export condition (it points at src/, which is not shipped: publishConfig.exports).
      const scopeDirectory = join(projectDirectory, 'node_modules', '@llmpool')
      for (const entry of readdirSync(scopeDirectory)) {
        const text = readFileSync(join(scopeDirectory, entry, 'package.json'), 'utf8')
        expect(text, `node_modules/@llmpool/${entry}/package.json`).not.toContain('@llmpool/source')
        const installed = JSON.parse(text) as PackageManifest
        for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const) {
          for (const [dependency, range] of Object.entries(installed[field] ?? {})) {
            expect(range, `${installed.name} ${field}.${dependency}`).not.toMatch(/^workspace:/)
          }
        }
      }

      const installedManifest = JSON.parse(readFileSync(installedManifestPath, 'utf8')) as PackageManifest
      expect(installedManifest.repository, `${manifest.name} repository`).toMatchObject({
        type: 'git',
        directory: relative(root, directory),
      })
      const installedLicense = join(dirname(installedManifestPath), 'LICENSE')
      expect(existsSync(installedLicense), `${manifest.name} ships no LICENSE`).toBe(true)
      expect(readFileSync(installedLicense, 'utf8'), `${manifest.name} LICENSE differs from the repository's`).toBe(
        license,
      )

      // Plain Node, no export conditions, no TypeScript: exactly what a user gets.
      const script = `const m = await import('${manifest.name}'); if (Object.keys(m).length === 0) process.exit(3)`
      const imported = run(process.execPath, ['--input-type=module', '-e', script], projectDirectory, 60_000)
      expect(imported.status, describeRun(`import('${manifest.name}')`, imported)).toBe(0)

      for (const bin of binNames(manifest)) {
        // `--no`: never fall back to downloading a package of the same name from the registry.
        // `--`: with `--no` before the command, npx would read the command's own flags as its.
        const help = run('npx', ['--no', '--', bin, '--help'], projectDirectory, 60_000)
        expect(help.stdout, describeRun(`npx ${bin} --help`, help)).toMatch(/usage/i)
        expect(help.status, describeRun(`npx ${bin} --help`, help)).toBe(0)

        if (bin === 'llmpool') {
          const validated = run('npx', ['--no', '--', bin, 'validate', configsCopy], projectDirectory, 60_000)
          expect(validated.status, describeRun(`npx ${bin} validate ${configsCopy}`, validated)).toBe(0)
        }
      }
    }, 180_000)
  }

  it('npx @llmpool/gateway --config DIR serves the official openai client, JSON and streaming, and stops on SIGTERM', async () => {
    const upstream = await createMockUpstream()
    // configs/llms names the real providers; a user points them elsewhere with the providers' own variables.
    const env = {
      ...childEnvironment(),
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      ANTHROPIC_BASE_URL: `${upstream.url}/v1`,
      OPENAI_API_KEY: 'sk-pack-test',
      ANTHROPIC_API_KEY: 'sk-ant-pack-test',
    }
    // As a user starts it: `npx @llmpool/gateway --config DIR` (`--no`: never from the registry; `--` keeps npx from
    // reading the gateway's flags). `detached`: a process group of its own, npx and the gateway it starts, so that
    // SIGTERM reaches the gateway as from a process manager (npx does not pass signals on) and a failed test kills both.
    const gateway = spawn('npx', ['--no', '--', '@llmpool/gateway', '--config', configsCopy, '--port', '0'], {
      cwd: projectDirectory,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the gateway did not start in 60 s:\n${output}`)), 60_000)
        const read = (chunk: Buffer) => {
          output += chunk.toString()
          const match = /listening on (http:\/\/[^"\s]+)/.exec(output)
          if (match) {
            clearTimeout(timer)
            resolve(match[1]!)
          }
        }
        gateway.stdout!.on('data', read)
        gateway.stderr!.on('data', read)
        gateway.once('exit', (code) => reject(new Error(`the gateway exited with ${code}:\n${output}`)))
      })
      // A user's script, run by plain Node in the project: the installed openai client against the installed gateway.
      const script = `
        import OpenAI from 'openai'
        const client = new OpenAI({ baseURL: ${JSON.stringify(`${url}/v1`)}, apiKey: 'unused', maxRetries: 0 })
        const completion = await client.chat.completions.create({ model: 'fast_pool_wrapper', messages: [{ role: 'user', content: 'hello' }] })
        let streamed = ''
        for await (const chunk of await client.chat.completions.create({ model: 'fast_group_wrapper', stream: true, messages: [{ role: 'user', content: 'hello' }] })) streamed += chunk.choices[0]?.delta?.content ?? ''
        console.log(JSON.stringify({ model: completion.model, text: completion.choices[0].message.content, streamed }))
      `
      writeFileSync(join(projectDirectory, 'ask-gateway.mjs'), script)
      const asked = await runAsync(process.execPath, ['ask-gateway.mjs'], projectDirectory, 60_000)
      expect(asked.status, describeRun('node ask-gateway.mjs', asked) + `\n--- gateway ---\n${output}`).toBe(0)
      const answer = JSON.parse(asked.stdout.trim().split('\n').at(-1)!) as {
        model: string
        text: string
        streamed: string
      }
      expect(answer.model).toBe('fast_pool_wrapper')
      expect(answer.text.length).toBeGreaterThan(0)
      expect(answer.streamed.length).toBeGreaterThan(0)
      expect(upstream.stats().completed).toBeGreaterThanOrEqual(2)

      // The gateway drains and says so; npx, killed by the same signal, ends once its pipes close.
      const closed = new Promise<void>((resolve) => gateway.once('close', () => resolve()))
      process.kill(-gateway.pid!, 'SIGTERM')
      await closed
      expect(output).toContain('"msg":"draining"')
      expect(output).toContain('"msg":"stopped"')
    } finally {
      try {
        process.kill(-gateway.pid!, 'SIGKILL')
      } catch {
        // The group is gone already (the gateway stopped on SIGTERM).
      }
      await upstream.close()
    }
  }, 180_000)

  it('the declarations compile with strict and without skipLibCheck, in a project without ioredis', () => {
    // The library packages a TypeScript user of the memory limiter installs, and the @llmpool packages they need.
    const names = withWorkspaceDependencies([
      '@llmpool/config',
      '@llmpool/limiter',
      '@llmpool/router',
      '@llmpool/schema',
      '@llmpool/wrappers',
    ])
    const tarballs = names.map((name) =>
      join(tarballDirectory, tarballName(packages.find(({ manifest }) => manifest.name === name)!.manifest)),
    )
    const typesDirectory = join(workDirectory, 'types-project')
    mkdirSync(typesDirectory)
    writeFileSync(
      join(typesDirectory, 'package.json'),
      `${JSON.stringify({ name: 'llmpool-types-check', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`,
    )
    const compilerOptions = {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
    }
    writeFileSync(
      join(typesDirectory, 'tsconfig.json'),
      `${JSON.stringify({ compilerOptions, files: ['consumer.ts'] }, null, 2)}\n`,
    )
    cpSync(join(root, 'test', 'types-consumer.ts'), join(typesDirectory, 'consumer.ts'))

    // The workspace's TypeScript and Node types: what the packages are built and checked with.
    const installed = run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...tarballs,
        `typescript@${rootDevDependencies.typescript}`,
        `@types/node@${rootDevDependencies['@types/node']}`,
      ],
      typesDirectory,
      240_000,
    )
    expect(installed.status, describeRun('npm install of the library tarballs', installed)).toBe(0)
    // ioredis and pino are optional peers: npm installs neither, so the declarations must not need them.
    for (const optional of ['ioredis', 'pino'])
      expect(existsSync(join(typesDirectory, 'node_modules', optional)), `${optional} got installed`).toBe(false)

    const compiled = run(
      process.execPath,
      [join(typesDirectory, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      typesDirectory,
      180_000,
    )
    expect(compiled.status, describeRun('tsc -p . (strict, no skipLibCheck)', compiled)).toBe(0)
  }, 420_000)
})
