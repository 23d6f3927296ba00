import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type ConfigCheck, type ConfigProblem, checkConfig, type LoadConfigOptions } from '@llmpool/config'
import { expect } from 'vitest'

/** Absolute path of `test/fixtures/<name>`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
}

/** The repository's own configuration tree, `configs/llms`. */
export const REAL_TREE = fileURLToPath(new URL('../../../configs/llms', import.meta.url))

/** `checkConfig` on a fixture, with an empty environment unless one is given. */
export function check(name: string, options: Partial<LoadConfigOptions> = {}): ConfigCheck {
  return checkConfig({ directory: fixture(name), env: {}, ...options })
}

/** Line and column (1-based) of the first occurrence of `needle` in a fixture file. */
export function positionOf(name: string, file: string, needle: string): { line: number; column: number } {
  const text = readFileSync(`${fixture(name)}/${file}`, 'utf8')
  const index = text.indexOf(needle)
  if (index === -1) throw new Error(`${needle} not found in ${name}/${file}`)
  const before = text.slice(0, index).split('\n')
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}

/** Asserts that the check failed with exactly one error, matching `expected`, and returns it. */
export function onlyError(result: ConfigCheck, expected: Partial<ConfigProblem>): ConfigProblem {
  expect(result.config).toBeUndefined()
  expect(result.errors).toEqual([expect.objectContaining(expected)])
  return result.errors[0]!
}

/** Asserts that the check loaded with exactly one warning, matching `expected`, and returns it. */
export function onlyWarning(result: ConfigCheck, expected: Partial<ConfigProblem>): ConfigProblem {
  expect(result.errors).toEqual([])
  expect(result.config).toBeDefined()
  expect(result.warnings).toEqual([expect.objectContaining(expected)])
  return result.warnings[0]!
}

/** Every string in a value, deeply. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings)
  return []
}
