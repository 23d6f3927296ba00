/** Where keys stand in TOML text, for problems found after parsing. */
import { describe, expect, test } from 'vitest'
import { KeyLocator } from '../src/locate'

describe('KeyLocator', () => {
  test('finds indented keys, in tables and in inline tables written over several lines', () => {
    const locator = new KeyLocator(
      [
        '[wrappers]',
        'fast = {',
        '  type = "pool",',
        '  pool_name = "fast_pool"',
        '}',
        '',
        '[global]',
        '    default_timeout = 30',
      ].join('\n'),
    )
    expect(locator.locate(['wrappers', 'fast'])).toEqual({ line: 2, column: 1 })
    expect(locator.locate(['wrappers', 'fast', 'pool_name'])).toEqual({ line: 4, column: 3 })
    expect(locator.locate(['global', 'default_timeout'])).toEqual({ line: 8, column: 5 })
  })

  test('a key it cannot find is located at its nearest enclosing table', () => {
    const locator = new KeyLocator('[pool]\nname = "x"\n')
    expect(locator.locate(['pool', 'health_check', 'interval'])).toEqual({ line: 1, column: 1 })
  })
})
