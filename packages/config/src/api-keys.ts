import type { KeyPath } from './key-path'
import type { SectionReport } from './problems'

/**
 * The rules of an echelon's `api_keys`, checked once env injection has given the keys their values: no key is
 * empty, no key is there twice, and `api_key` is not set too. (The schema already wants at least one key.) No message
 * shows a key: duplicates are named by their positions.
 */
export function checkApiKeys(
  echelons: Readonly<Record<string, { api_key?: string; api_keys?: readonly string[] }>>,
  report: SectionReport,
  variableAt: (path: KeyPath) => string | undefined,
): void {
  for (const [name, echelon] of Object.entries(echelons)) {
    const keys = echelon.api_keys
    if (keys === undefined) continue
    const at = ['task_group', 'echelons', name, 'api_keys']
    if (echelon.api_key !== undefined)
      report(
        at,
        'conflicting_keys',
        'api_key and api_keys are both set; keep one (api_keys for several keys, api_key for one)',
      )
    const first = new Map<string, number>()
    keys.forEach((key, index) => {
      const path = [...at, index]
      if (key === '') {
        const variable = variableAt(path)
        report(
          path,
          'invalid_value',
          `must not be empty${variable === undefined ? '' : `: \${${variable}} is unset or empty`}`,
        )
        return
      }
      const earlier = first.get(key)
      if (earlier === undefined) first.set(key, index)
      else report(path, 'invalid_value', `api_keys[${earlier}] and api_keys[${index}] are the same key`)
    })
  }
}
