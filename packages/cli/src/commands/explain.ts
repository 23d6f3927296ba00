import { statSync } from 'node:fs'
import path from 'node:path'
import { didYouMean, redact, type ResolvedConfig } from '@llmpool/config'
import { compilePlan, planToJSON } from '@llmpool/router'
import { NAME_PATTERN } from '@llmpool/schema'
import type { CliIo } from '../cli-io'
import { checkDirectory, DEFAULT_DIRECTORY } from '../check-directory'
import type { Command } from '../command'
import { EXIT_CODES } from '../exit-codes'
import { invalidSummary, json, problemJson, problemLines } from '../format'
import { parseCommandArgs } from '../parse'
import { type ConfigView, renderConfiguration, renderPool, renderTaskGroup, renderWrapper } from '../render-config'
import { renderEntryPlan } from '../render-plan'
import { UsageError } from '../usage-error'

const usage = `Usage: llmpool explain [DIR] [NAME] [--plan] [--json] [--env NAME]

Prints the configuration in DIR (default ${DEFAULT_DIRECTORY}) as llmpool resolves it: env injected,
inheritance and overlays applied, defaults filled in. Secrets always show as [redacted].
With NAME, only that pool, task group or wrapper. A single argument is a NAME when it looks like one
and is not a directory.

With --plan, prints the routing plan instead: what a request to each wrapper, pool and task group does —
its chain of instances in order, each attempt's timeout and the calls each instance may get, the request
deadline, the most calls of one request, retries, cooldown rules, and where every value comes from
(file:line, or a built-in default). See docs/routing.md.

Options:
  --plan         print the routing plan (per wrapper, pool and task group)
  --json         print JSON: {"registry","pools","task_groups","wrappers"}, or with NAME
                 {"kind","name","file","value"}; with --plan {"entries","instances"}
  --env NAME     apply the NAME overlay (x.NAME.toml over x.toml); default: $LLMPOOL_ENV
  -h, --help     show this help

Exit codes: 0 shown, 1 invalid configuration (problems listed as by validate), 2 usage error
or unknown NAME.
`

type Kind = 'pool' | 'task_group' | 'wrapper'

const isName = new RegExp(NAME_PATTERN)

/** `[DIR] [NAME]`: one argument is a NAME when it has the shape of one and no such directory exists. */
function splitPositionals(positionals: string[], cwd: string): { directory?: string; name?: string } {
  const [first, second] = positionals
  if (first === undefined) return {}
  if (second !== undefined) return { directory: first, name: second }
  let isDirectory = false
  try {
    isDirectory = statSync(path.resolve(cwd, first)).isDirectory()
  } catch {}
  return !isDirectory && isName.test(first) ? { name: first } : { directory: first }
}

function find(config: ResolvedConfig, name: string): { kind: Kind; file: string; value: unknown } | undefined {
  const { files } = config.source
  if (Object.hasOwn(config.pools, name))
    return { kind: 'pool', file: files.pools[name] ?? '', value: config.pools[name] }
  if (Object.hasOwn(config.task_groups, name))
    return { kind: 'task_group', file: files.task_groups[name] ?? '', value: config.task_groups[name] }
  if (Object.hasOwn(config.wrappers, name))
    return { kind: 'wrapper', file: files.wrappers[name] ?? '', value: config.wrappers[name] }
  return undefined
}

function unknownName(config: ResolvedConfig, name: string): UsageError {
  const names = [...Object.keys(config.pools), ...Object.keys(config.task_groups), ...Object.keys(config.wrappers)]
  const registry = config.registry
  const disabledIn = (['pools', 'task_groups', 'wrappers'] as const).find(
    (kind) => registry[kind][name]?.enabled === false,
  )
  if (disabledIn) return new UsageError(`llmpool explain: "${name}" is disabled in _registry.toml [${disabledIn}]`)
  const suggestion = didYouMean(name, names, 5)
  const known = suggestion || `; known names: ${names.join(', ')}`
  return new UsageError(`llmpool explain: no pool, task group or wrapper named "${name}"${known}`)
}

async function run(args: string[], io: CliIo) {
  const { values, positionals } = parseCommandArgs(
    'explain',
    args,
    { json: { type: 'boolean' }, plan: { type: 'boolean' }, env: { type: 'string' } },
    2,
  )
  if (values.help) {
    io.stdout.write(usage)
    return EXIT_CODES.ok
  }
  const { directory, name } = splitPositionals(positionals, io.cwd)
  const check = checkDirectory(io, { directory, environment: values.env })
  const config = check.config
  if (check.errors.length > 0 || config === undefined) {
    if (values.json) {
      io.stdout.write(
        json({ ok: false, errors: check.errors.map(problemJson), warnings: check.warnings.map(problemJson) }),
      )
    } else {
      io.stderr.write(problemLines(check.errors, check.warnings, check.label))
      io.stderr.write(invalidSummary(check.errors.length, check.warnings.length, check.label))
    }
    return EXIT_CODES.invalid
  }
  // Warnings go to stderr so that stdout holds only the configuration.
  io.stderr.write(problemLines([], check.warnings, check.label))

  if (values.plan) return explainPlan(io, config, name, values.json === true)

  // Everything printed below comes from this redacted copy.
  const view: ConfigView = redact({
    registry: config.registry,
    pools: config.pools,
    task_groups: config.task_groups,
    wrappers: config.wrappers,
  })

  if (name === undefined) {
    io.stdout.write(
      values.json ? json(view) : renderConfiguration(view, config.source.files, check.label, config.source.environment),
    )
    return EXIT_CODES.ok
  }

  const found = find(config, name)
  if (!found) throw unknownName(config, name)
  if (values.json) {
    io.stdout.write(json({ kind: found.kind, name, file: found.file, value: redact(found.value) }))
    return EXIT_CODES.ok
  }
  const lines =
    found.kind === 'pool'
      ? renderPool(name, view.pools[name]!, found.file)
      : found.kind === 'task_group'
        ? renderTaskGroup(name, view.task_groups[name]!, found.file)
        : renderWrapper(name, view.wrappers[name]!)
  io.stdout.write(`${found.kind} ${lines.join('\n')}\n`)
  return EXIT_CODES.ok
}

/** `--plan`: the routing plan of every entry, or of NAME; keys never appear (the plan's JSON leaves them out). */
function explainPlan(io: CliIo, config: ResolvedConfig, name: string | undefined, asJson: boolean) {
  const plan = compilePlan(config)
  if (name !== undefined && !plan.entries.has(name)) throw unknownName(config, name)
  const view = planToJSON(plan, name === undefined ? undefined : [name])
  if (asJson) {
    io.stdout.write(json(view))
    return EXIT_CODES.ok
  }
  const instances = new Map(view.instances.map((instance) => [instance.key, instance]))
  io.stdout.write(`${view.entries.map((entry) => renderEntryPlan(entry, instances).join('\n')).join('\n\n')}\n`)
  return EXIT_CODES.ok
}

export const explainCommand: Command = {
  name: 'explain',
  summary:
    'print the resolved configuration (secrets redacted), or one pool, task group or wrapper; --plan: its routing plan',
  usage,
  run,
}
