import { readFileSync } from 'node:fs'

/**
 * The version in this package's package.json. Read at run time, one folder up from this module: `src/` in tests,
 * `dist/` once built (tsup puts shared code in `dist/` beside the entries).
 */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown
    }
    return typeof manifest.version === 'string' ? manifest.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
