import path from 'node:path'
import type { ConfigProblem, ResolvedConfig } from '@llmpool/config'

/** `1 pool`, `3 pools`; `plural` for irregular words. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}

/** `value` as pretty JSON, one object, ending in a newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** A problem with exactly the documented keys, in a stable order (`line`/`column` only when known). */
export function problemJson(problem: ConfigProblem): ConfigProblem {
  const { code, file, path: keyPath, message, line, column } = problem
  return {
    code,
    file,
    path: keyPath,
    message,
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
  }
}

/**
 * `configs/llms/pools/fast-pool.toml:23:1  pool.health_check.interval  must be greater than 0`: the file joined to
 * the directory as typed, so terminals and editors can open it at the line.
 */
export function problemLine(problem: ConfigProblem, directoryLabel: string): string {
  const file = problem.file ? path.join(directoryLabel, problem.file) : directoryLabel
  const position =
    problem.line === undefined ? '' : `:${problem.line}${problem.column === undefined ? '' : `:${problem.column}`}`
  return [`${file}${position}`, problem.path, problem.message].filter(Boolean).join('  ')
}

/** Every error, then every warning (prefixed `warning: `), one per line. */
export function problemLines(
  errors: readonly ConfigProblem[],
  warnings: readonly ConfigProblem[],
  directoryLabel: string,
): string {
  const lines = [
    ...errors.map((problem) => problemLine(problem, directoryLabel)),
    ...warnings.map((problem) => `warning: ${problemLine(problem, directoryLabel)}`),
  ]
  return lines.map((line) => `${line}\n`).join('')
}

/** `✗ 3 errors, 1 warning in configs/llms` */
export function invalidSummary(errors: number, warnings: number, directoryLabel: string): string {
  const warningPart = warnings > 0 ? `, ${count(warnings, 'warning')}` : ''
  return `✗ ${count(errors, 'error')}${warningPart} in ${directoryLabel}\n`
}

/** `✓ configs/llms is valid (3 pools, 4 task groups, 7 wrappers) — 1 warning` */
export function validSummary(config: ResolvedConfig, warnings: number, directoryLabel: string): string {
  const sizes = [
    count(Object.keys(config.pools).length, 'pool'),
    count(Object.keys(config.task_groups).length, 'task group'),
    count(Object.keys(config.wrappers).length, 'wrapper'),
  ].join(', ')
  return `✓ ${directoryLabel} is valid (${sizes})${warnings > 0 ? ` — ${count(warnings, 'warning')}` : ''}\n`
}

/**
 * Rows of `label  value`, labels padded to one width, each line indented: the building block of `llmpool explain`.
 * Rows whose value is undefined are left out.
 */
export function fields(rows: ReadonlyArray<readonly [string, string | undefined]>, indent: string): string[] {
  const present = rows.filter((row): row is readonly [string, string] => row[1] !== undefined)
  const width = Math.max(0, ...present.map(([label]) => label.length))
  return present.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`)
}
