import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../src/index'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const SECRET = 'sk-test-SECRET123'

type Result = { code: number; stdout: string; stderr: string }

async function cli(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd: options.cwd ?? root,
    env: options.env ?? {},
  })
  return { code, stdout, stderr }
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8')
  const edited = text.replace(from, to)
  if (edited === text) throw new Error(`fixture edit did not apply to ${file}: ${String(from)}`)
  writeFileSync(file, edited)
}

let work = ''
/** A copy of configs/llms with three errors: two invalid values and a TOML syntax error. */
let broken = ''

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'llmpool-cli-'))
  broken = join(work, 'broken')
  cpSync(join(root, 'configs', 'llms'), broken, { recursive: true })
  // With defaults on failure, invalid values would be warnings; these cases are about errors.
  edit(join(broken, '_registry.toml'), 'use_defaults_on_failure = true', 'use_defaults_on_failure = false')
  edit(join(broken, 'pools', 'fast-pool.toml'), /^interval = 30\b/m, 'interval = 0')
  edit(join(broken, 'pools', 'fast-pool.toml'), 'type = "round_robin"', 'type = "round-robin"')
  edit(join(broken, 'pools', 'plan-pool.toml'), '[pool]', '[pool\nbroken = [')
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('llmpool validate', () => {
  it("accepts configs/llms with a summary line (and the warning the design document's fast-pool.toml earns)", async () => {
    const result = await cli(['validate'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(
      'warning: configs/llms/pools/fast-pool.toml:44:1  pool.rate_limiting.fixed_window  [pool.rate_limiting.fixed_window] has no effect: rate_limiting.algorithm is "token_bucket"\n' +
        '✓ configs/llms is valid (3 pools, 4 task groups, 7 wrappers) — 1 warning\n',
    )
    expect(result.stderr).toBe('')
  })

  it('--json prints exactly one JSON object', async () => {
    const result = await cli(['validate', 'configs/llms', '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      ok: true,
      errors: [],
      warnings: [
        expect.objectContaining({
          code: 'no_effect',
          file: 'pools/fast-pool.toml',
          path: 'pool.rate_limiting.fixed_window',
        }),
      ],
    })
  })

  it('lists every error of a broken copy, with file, key path, line and column', async () => {
    const result = await cli(['validate', broken, '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as { ok: boolean; errors: Array<Record<string, unknown>> }
    expect(report.ok).toBe(false)
    expect(report.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'pools/fast-pool.toml',
          path: 'pool.health_check.interval',
          line: expect.any(Number),
        }),
        expect.objectContaining({ file: 'pools/fast-pool.toml', path: 'pool.rotation_strategy.type' }),
        expect.objectContaining({ file: 'pools/plan-pool.toml', code: 'toml_syntax' }),
      ]),
    )
    for (const problem of report.errors) {
      expect(
        Object.keys(problem).every((key) => ['code', 'file', 'path', 'message', 'line', 'column'].includes(key)),
      ).toBe(true)
    }
  })

  it('prints file:line:col  path  message, then the summary', async () => {
    const result = await cli(['validate', 'broken'], { cwd: work })
    expect(result.code).toBe(1)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines.find((line) => line.includes('pool.health_check.interval'))).toMatch(
      /^broken\/pools\/fast-pool\.toml:\d+:\d+ {2}pool\.health_check\.interval {2}\S/,
    )
    expect(lines.some((line) => /^broken\/pools\/plan-pool\.toml:\d+:\d+ {2}/.test(line))).toBe(true)
    expect(lines.at(-1)).toMatch(/^✗ \d+ errors in broken$/)
  })

  it('reports invalid values as warnings when the registry uses defaults on failure', async () => {
    const lenient = join(work, 'defaults')
    cpSync(join(root, 'configs', 'llms'), lenient, { recursive: true })
    edit(join(lenient, 'pools', 'fast-pool.toml'), /^interval = 30\b/m, 'interval = 0')
    const result = await cli(['validate', lenient])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^warning: .*pools\/fast-pool\.toml:\d+:\d+ {2}pool\.health_check\.interval {2}/m)
    // The other warning is the no_effect one of the design document's fast-pool.toml.
    expect(result.stdout).toMatch(/is valid \(3 pools, 4 task groups, 7 wrappers\) — 2 warnings\n$/)
  })

  it('--lenient turns an unknown key into a warning', async () => {
    const unknown = join(work, 'unknown-key')
    cpSync(join(root, 'configs', 'llms'), unknown, { recursive: true })
    edit(
      join(unknown, 'pools', 'fast-pool.toml'),
      'task_groups = ["fast_group"]',
      'task_groups = ["fast_group"]\ncolour = "red"',
    )
    expect((await cli(['validate', unknown, '--strict'])).code).toBe(1)
    const lenient = await cli(['validate', unknown, '--lenient', '--json'])
    expect(lenient.code).toBe(0)
    expect(JSON.parse(lenient.stdout).warnings).toEqual([
      expect.objectContaining({ code: 'unknown_key', path: 'pool.colour' }),
      expect.objectContaining({ code: 'no_effect' }),
    ])
  })

  it('reports the rules of api_keys at file:line:col, without showing a key', async () => {
    const keys = join(work, 'api-keys-rules')
    cpSync(join(root, 'configs', 'llms'), keys, { recursive: true })
    edit(
      join(keys, 'task-groups', 'execute-group.toml'),
      'api_key = "${OPENAI_API_KEY:}"',
      `api_keys = ["${SECRET}", "\${SECOND_KEY:}", "sk-other-SECRET123", "\${THIRD_KEY:${SECRET}}"]`,
    )
    edit(
      join(keys, 'task-groups', 'plan-group.toml'),
      /^models = (.*)$/m,
      `models = $1\napi_key = "${SECRET}"\napi_keys = ["sk-a-SECRET123"]`,
    )
    const result = await cli(['validate', 'api-keys-rules'], { cwd: work })
    expect(result.code).toBe(1)
    expect(result.stdout).not.toContain('SECRET')
    const lines = result.stdout.trimEnd().split('\n')
    const at = (path: string) => lines.find((line) => line.includes(`  ${path}  `))
    expect(at('task_group.echelons.echelon1.api_keys[1]')).toMatch(
      /^api-keys-rules\/task-groups\/execute-group\.toml:\d+:\d+ {2}\S+ {2}must not be empty: \$\{SECOND_KEY\} is unset or empty$/,
    )
    expect(at('task_group.echelons.echelon1.api_keys[3]')).toMatch(
      /^api-keys-rules\/task-groups\/execute-group\.toml:\d+:\d+ {2}\S+ {2}api_keys\[0\] and api_keys\[3\] are the same key$/,
    )
    expect(at('task_group.echelons.echelon1.api_keys')).toMatch(
      /^api-keys-rules\/task-groups\/plan-group\.toml:\d+:\d+ {2}\S+ {2}api_key and api_keys are both set/,
    )
    expect(lines.at(-1)).toMatch(/^✗ 3 errors/)
  })

  it('a missing registry is an invalid configuration', async () => {
    const empty = mkdtempSync(join(work, 'empty-'))
    const result = await cli(['validate', empty, '--json'])
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout).errors).toEqual([
      expect.objectContaining({ code: 'file_not_found', file: '_registry.toml' }),
    ])
  })

  it('a directory that does not exist is a usage error', async () => {
    const result = await cli(['validate', 'no/such/dir'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('llmpool: directory not found: no/such/dir\n')
  })

  it('an unknown flag is a usage error that names the flag meant', async () => {
    const result = await cli(['validate', '--jsn'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /^llmpool validate: unknown option --jsn \(did you mean --json\?\) \(see "llmpool validate --help"\)\n$/,
    )
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('--lenient and --strict together are a usage error', async () => {
    expect((await cli(['validate', '--lenient', '--strict'])).code).toBe(2)
  })
})

describe('llmpool init', () => {
  const TOML_FILES = [
    '_registry.toml',
    'pools/main-pool.toml',
    'task-groups/chat-group.toml',
    'task-groups/fast-group.toml',
    'wrappers/pool-wrappers.toml',
    'wrappers/task-group-wrappers.toml',
  ]

  it('writes a tree that validate accepts, without a warning', async () => {
    const directory = join(work, 'init-valid')
    const result = await cli(['init', directory])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    for (const file of TOML_FILES) expect(result.stdout).toContain(`wrote ${join(directory, file)}\n`)
    expect(result.stdout).toContain(`llmpool validate ${directory}`)
    const validated = await cli(['validate', directory])
    expect(validated).toEqual({
      code: 0,
      stdout: `✓ ${directory} is valid (1 pool, 2 task groups, 3 wrappers)\n`,
      stderr: '',
    })
  })

  it('resolves DIR from the working directory, and defaults to configs/llms', async () => {
    const cwd = mkdtempSync(join(work, 'init-cwd-'))
    expect((await cli(['init'], { cwd })).code).toBe(0)
    expect(existsSync(join(cwd, 'configs', 'llms', '_registry.toml'))).toBe(true)
    expect((await cli(['init', 'other'], { cwd })).code).toBe(0)
    expect((await cli(['validate', 'other'], { cwd })).code).toBe(0)
  })

  it('points every TOML file at its JSON Schema, which it writes too, and uses only TOML 1.0', async () => {
    const directory = join(work, 'init-schemas')
    expect((await cli(['init', directory])).code).toBe(0)
    for (const file of TOML_FILES) {
      const text = readFileSync(join(directory, file), 'utf8')
      const schema = /^#:schema (\S+)\n/.exec(text)?.[1]
      expect(schema, file).toBeDefined()
      const schemaFile = join(dirname(join(directory, file)), schema!)
      expect(JSON.parse(readFileSync(schemaFile, 'utf8')).$schema, file).toBe(
        'https://json-schema.org/draft/2020-12/schema',
      )
      // taplo and other TOML 1.0 tools reject an inline table spread over lines (TOML 1.1).
      expect(text, file).not.toMatch(/=\s*\{[^}]*\n/)
    }
  })

  it('without variables, reaches the mock upstream on 127.0.0.1:9090 with a placeholder key', async () => {
    const { checkConfig } = await import('@llmpool/config')
    const directory = join(work, 'init-defaults')
    expect((await cli(['init', directory])).code).toBe(0)
    const { config } = checkConfig({ directory, env: {} })
    for (const group of Object.values(config!.task_groups))
      for (const echelon of Object.values(group.echelons)) {
        expect(echelon.base_url).toBe('http://127.0.0.1:9090/v1')
        expect(echelon.api_key).toBe('mock-key')
      }
    expect(config!.task_groups.chat_group!.echelons.best!.concurrency_limit).toBe(10)
  })

  it('refuses a directory that is not empty (exit 2) and leaves it as it was; an empty one is fine', async () => {
    const directory = mkdtempSync(join(work, 'init-taken-'))
    writeFileSync(join(directory, 'notes.txt'), 'mine')
    const result = await cli(['init', directory])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `llmpool init: ${directory} is not empty; init writes only into a new or empty directory, and never overwrites a file (see "llmpool init --help")\n`,
    )
    expect(readdirSync(directory)).toEqual(['notes.txt'])
    // A tree init wrote earlier is not empty either.
    const again = join(work, 'init-twice')
    expect((await cli(['init', again])).code).toBe(0)
    expect((await cli(['init', again])).code).toBe(2)
    // An empty directory takes the tree.
    expect((await cli(['init', mkdtempSync(join(work, 'init-empty-'))])).code).toBe(0)
    // A file where the directory should be is refused.
    expect((await cli(['init', join(directory, 'notes.txt')])).stderr).toMatch(/exists and is not a directory/)
  })

  it('serves a chat request through the gateway against the mock upstream', async () => {
    const { createMockUpstream } = await import('@llmpool/testing')
    const { startGateway } = await import('@llmpool/gateway')
    const directory = join(work, 'init-serve')
    expect((await cli(['init', directory])).code).toBe(0)
    const upstream = await createMockUpstream()
    // The tree's base_url is `${OPENAI_BASE_URL:http://127.0.0.1:9090/v1}`: the variable points it at this upstream.
    const gateway = await startGateway({
      config: directory,
      port: 0,
      env: { OPENAI_BASE_URL: `${upstream.url}/v1` },
      logger: false,
      router: { healthChecks: false },
    })
    try {
      for (const model of ['main_pool_wrapper', 'chat_group_wrapper', 'fast_group_wrapper']) {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
        })
        expect(response.status, model).toBe(200)
        const body = (await response.json()) as { model: string; choices: Array<{ message: { content: string } }> }
        expect(body.model).toBe(model)
        expect(body.choices[0]!.message.content.length).toBeGreaterThan(0)
      }
      // The echelons' best model answered first, with the tree's placeholder key.
      expect(upstream.requests({ model: 'gpt-4o', apiKey: 'mock-key' }).length).toBeGreaterThan(0)
    } finally {
      await gateway.close()
      await upstream.close()
    }
  })
})

describe('llmpool explain --plan', () => {
  const env = { OPENAI_API_KEY: SECRET }

  it("prints each entry's chain in order, with deadlines, calls and the source of each value", async () => {
    const result = await cli(['explain', 'configs/llms', 'fast_group_wrapper', '--plan'], { env })
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[0]).toBe(
      'wrapper fast_group_wrapper → task group fast_group   [global] of wrappers/task-group-wrappers.toml',
    )
    expect(result.stdout).toMatch(/request deadline +88 s +computed: room to walk the chain once/)
    expect(result.stdout).toMatch(/calls at most +12 /)
    expect(result.stdout).toMatch(
      /retried on +timeout, rate_limit, network_error +wrappers\/pool-wrappers\.toml:\d+: \[global\] error_handling\.retry_on_errors/,
    )
    const chain = lines.filter((line) => /^ +\d+\. /.test(line)).map((line) => line.trim().split(/ +/)[1])
    expect(chain).toEqual([
      'fast_group.echelon1/openai:gpt-4o',
      'fast_group.echelon1/anthropic:claude-3-5-sonnet',
      'fast_group.echelon2/openai:gpt-4o-mini',
      'fast_group.echelon2/anthropic:claude-3-haiku',
      'fast_group.echelon3/openai:gpt-3.5-turbo',
    ])
    expect(result.stdout).toContain(
      '30 s per attempt (task-groups/fast-group.toml:33: task_group.echelons.echelon1.timeout), up to 4 calls',
    )
    expect(result.stdout).toMatch(
      /cooldown rules:\n +fast_group: 429\/529: the upstream's retry time \(at most 300 s\), else 5 s/,
    )
  })

  it('--json: {"entries","instances"} for every entry, with no secret anywhere', async () => {
    const result = await cli(['explain', 'configs/llms', '--plan', '--json'], { env })
    expect(result.code).toBe(0)
    const plan = JSON.parse(result.stdout)
    expect(plan.entries.map((entry: { name: string }) => entry.name)).toContain('execute_group_wrapper')
    expect(plan.entries).toHaveLength(7 + 3 + 4)
    const execute = plan.instances.find(
      (instance: { key: string }) => instance.key === 'execute_group.echelon1/openai:gpt-4o',
    )
    expect(execute.apiKey).toMatchObject({ value: '[redacted]' })
    expect(result.stdout).not.toContain(SECRET)
  })

  it('an unknown NAME is a usage error', async () => {
    const result = await cli(['explain', 'configs/llms', 'fast_pol', '--plan'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('did you mean "fast_pool"')
  })
})

describe('llmpool explain', () => {
  const env = { OPENAI_API_KEY: SECRET }

  it('shows the resolved configuration with the api key redacted', async () => {
    const result = await cli(['explain', 'configs/llms'], { env })
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain(SECRET)
    expect(result.stdout).toMatch(/^ +api_key +\[redacted\]$/m)
    expect(result.stdout).toMatch(/^ +api_key +\(provider default\)$/m)
    for (const heading of ['registry  configs/llms', 'pools', 'task_groups', 'wrappers']) {
      expect(result.stdout).toMatch(new RegExp(`^${heading}$`, 'm'))
    }
    expect(result.stdout).toContain('fast_pool  pools/fast-pool.toml')
    expect(result.stdout).toContain('execute_group_wrapper')
  })

  it('shows api_keys redacted, as text and as JSON', async () => {
    const keys = join(work, 'api-keys')
    cpSync(join(root, 'configs', 'llms'), keys, { recursive: true })
    edit(
      join(keys, 'task-groups', 'execute-group.toml'),
      'api_key = "${OPENAI_API_KEY:}"',
      'api_keys = ["${OPENAI_API_KEY}", "sk-second-SECRET123"]',
    )
    const text = await cli(['explain', keys, 'execute_group'], { env })
    expect(text.code).toBe(0)
    expect(text.stdout).not.toContain('SECRET')
    expect(text.stdout).toMatch(/^ +api_keys +2: \[redacted\], \[redacted\]$/m)
    for (const args of [[keys], [keys, 'execute_group']]) {
      const json = await cli(['explain', ...args, '--json'], { env })
      expect(json.code).toBe(0)
      expect(json.stdout).not.toContain('SECRET')
      const parsed = JSON.parse(json.stdout)
      const group = args.length === 2 ? parsed.value : parsed.task_groups.execute_group
      expect(group.echelons.echelon1.api_keys).toEqual(['[redacted]', '[redacted]'])
    }
  })

  it('--json has exactly registry, pools, task_groups and wrappers, redacted', async () => {
    const result = await cli(['explain', '--json'], { env })
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain(SECRET)
    const view = JSON.parse(result.stdout)
    expect(Object.keys(view)).toEqual(['registry', 'pools', 'task_groups', 'wrappers'])
    expect(view.task_groups.execute_group.echelons.echelon1.api_key).toBe('[redacted]')
    expect(view.pools.fast_pool.health_check.interval).toBe(30)
  })

  it('NAME shows one pool', async () => {
    const result = await cli(['explain', 'fast_pool'])
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n')[0]).toBe('pool fast_pool  pools/fast-pool.toml')
    expect(result.stdout).toContain('rotation_strategy')
    expect(result.stdout).not.toContain('thinking_pool')

    const json = JSON.parse((await cli(['explain', 'fast_pool', '--json'])).stdout)
    expect(json).toMatchObject({ kind: 'pool', name: 'fast_pool', file: 'pools/fast-pool.toml' })
    expect(json.value.task_groups).toEqual(['fast_group'])
  })

  it('NAME shows one task group, secrets redacted', async () => {
    const result = await cli(['explain', 'configs/llms', 'execute_group'], { env })
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n')[0]).toBe('task_group execute_group  task-groups/execute-group.toml')
    expect(result.stdout).toContain('[redacted]')
    expect(result.stdout).not.toContain(SECRET)

    const json = await cli(['explain', 'execute_group', '--json'], { env })
    expect(json.stdout).not.toContain(SECRET)
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: 'task_group',
      file: 'task-groups/execute-group.toml',
      value: { echelons: { echelon1: { api_key: '[redacted]' } } },
    })
  })

  it('NAME shows one wrapper', async () => {
    const result = await cli(['explain', 'execute_group_wrapper'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^wrapper execute_group_wrapper {2}wrappers\/task-group-wrappers\.toml$/m)
    expect(result.stdout).toMatch(/wraps +task_group execute_group/)
    const json = JSON.parse((await cli(['explain', 'execute_group_wrapper', '--json'])).stdout)
    expect(json).toMatchObject({ kind: 'wrapper', value: { type: 'task_group', task_group_name: 'execute_group' } })
  })

  it('an unknown NAME is a usage error with suggestions', async () => {
    const result = await cli(['explain', 'fast_pol'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/no pool, task group or wrapper named "fast_pol" \(did you mean "fast_pool"/)
  })

  it('an invalid configuration prints its problems and exits 1', async () => {
    const result = await cli(['explain', broken])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/fast-pool\.toml:\d+:\d+ {2}pool\.health_check\.interval/)
    const json = await cli(['explain', broken, '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout).ok).toBe(false)
  })
})

describe('llmpool schema', () => {
  it('--out writes one JSON Schema per kind of file', async () => {
    const out = join(work, 'schemas', 'nested')
    const result = await cli(['schema', '--out', out])
    expect(result.code).toBe(0)
    const files = readdirSync(out).sort()
    expect(files).toEqual([
      'pool-wrappers.schema.json',
      'pool.schema.json',
      'registry.schema.json',
      'task-group-wrappers.schema.json',
      'task-group.schema.json',
    ])
    for (const file of files) {
      expect(JSON.parse(readFileSync(join(out, file), 'utf8')).$schema).toContain('json-schema.org')
      expect(result.stdout).toContain(file)
    }
  })

  it('without --out is a usage error', async () => {
    const result = await cli(['schema'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--out DIR is required')
    expect(existsSync(join(root, 'schemas'))).toBe(false)
  })
})

describe('llmpool', () => {
  it('prints usage for --help, help and no arguments', async () => {
    for (const argv of [['--help'], ['help'], []]) {
      const result = await cli(argv)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^Usage: llmpool <command>/)
      expect(result.stdout).toContain('validate')
    }
    const command = await cli(['validate', '--help'])
    expect(command.code).toBe(0)
    expect(command.stdout).toMatch(/^Usage: llmpool validate/)
    expect((await cli(['help', 'explain'])).stdout).toMatch(/^Usage: llmpool explain/)
  })

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'packages', 'cli', 'package.json'), 'utf8')) as {
      version: string
    }
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  })

  it('an unknown command is a usage error', async () => {
    const result = await cli(['valdate'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^llmpool: unknown command "valdate" \(did you mean "validate"\?\)/)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('an unexpected failure is one line and exit 2; LLMPOOL_DEBUG=1 adds the stack', async () => {
    const failing = (env: NodeJS.ProcessEnv) => {
      let stderr = ''
      const io = {
        stdout: {
          write: () => {
            throw new Error('disk on fire')
          },
        },
        stderr: { write: (text: string) => (stderr += text) },
        cwd: root,
        env,
      }
      return runCli(['--version'], io).then((code) => ({ code, stderr }))
    }
    const quiet = await failing({})
    expect(quiet.code).toBe(2)
    expect(quiet.stderr).toBe('llmpool: internal error: disk on fire (set LLMPOOL_DEBUG=1 for the stack trace)\n')
    const debug = await failing({ LLMPOOL_DEBUG: '1' })
    expect(debug.code).toBe(2)
    expect(debug.stderr).toMatch(/^llmpool: internal error: Error: disk on fire\n\s+at /)
  })

  it('an invalid --env name is a usage error, not a stack trace', async () => {
    const result = await cli(['validate', '--env', '../prod'])
    expect(result.code).toBe(2)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('llmpool mock-upstream', () => {
  it('serves the mock upstream until stopped, and reports what it received', async () => {
    const controller = new AbortController()
    let output = ''
    let errors = ''
    const running = runCli(['mock-upstream', '--port', '0'], {
      stdout: { write: (text: string) => (output += text) },
      stderr: { write: (text: string) => (errors += text) },
      signal: controller.signal,
    })
    for (let i = 0; i < 100 && !output.includes('http://'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    const url = output.trim()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(200)
    controller.abort()
    expect(await running).toBe(0)
    expect(errors).toContain('stopped after 1 requests')
  })

  it('a bad port is a usage error', async () => {
    let errors = ''
    const code = await runCli(['mock-upstream', '--port', 'x'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (errors += text) },
    })
    expect(code).toBe(2)
    expect(errors).toContain('--port')
  })
})

describe('llmpool serve', () => {
  it('runs the gateway of @llmpool/gateway with its flags, and stops on the signal', async () => {
    const { createMockUpstream } = await import('@llmpool/testing')
    const upstream = await createMockUpstream()
    const controller = new AbortController()
    let out = ''
    const running = runCli(
      ['serve', '--config', join(root, 'packages', 'gateway', 'test', 'fixtures', 'gateway'), '--port', '0'],
      {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (out += text) },
        env: { MOCK_URL: upstream.url },
        signal: controller.signal,
      },
    )
    try {
      let url: string | undefined
      for (let tries = 0; tries < 250 && url === undefined; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        url = /listening on (http:\/\/[^"\s]+)/.exec(out)?.[1]
      }
      expect(url, out).toBeDefined()
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'main_wrapper', messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(response.status).toBe(200)
      expect(((await response.json()) as { model: string }).model).toBe('main_wrapper')
    } finally {
      controller.abort()
      expect(await running).toBe(0)
      await upstream.close()
    }
  })

  it('--help shows the gateway\'s options under "llmpool serve"', async () => {
    const result = await cli(['serve', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: llmpool serve [options]')
    expect(result.stdout).toContain('LLMPOOL_REDIS')
  })

  it('without @llmpool/gateway installed: says what to install, exit 2', async () => {
    const { createServeCommand } = await import('../src/commands/serve')
    const missing = Object.assign(new Error("Cannot find package '@llmpool/gateway' imported from /x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const command = createServeCommand(() => Promise.reject(missing))
    let err = ''
    const code = await command.run(['--port', '0'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (err += text) },
      cwd: process.cwd(),
      env: {},
    })
    expect(code).toBe(2)
    expect(err).toContain('npm install @llmpool/gateway')
  })
})
