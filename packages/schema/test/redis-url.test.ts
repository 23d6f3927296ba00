/** The Redis URL forms the limiter's and the breaker's Redis backends both read. */
import { describe, expect, test } from 'vitest'
import { isClusterUrl, parseRedisUrl } from '../src/index'

describe('parseRedisUrl', () => {
  test('a plain redis:// or rediss:// URL is left to ioredis', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ cluster: false, url: 'redis://127.0.0.1:6379/2' })
    expect(isClusterUrl('rediss://host:6380')).toBe(false)
  })

  test('redis+cluster:// lists the seed nodes (port 6379 by default, IPv6 in brackets) and the decoded credentials', () => {
    expect(isClusterUrl('redis+cluster://a:7000')).toBe(true)
    expect(parseRedisUrl('redis+cluster://user:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002/')).toEqual({
      cluster: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'user',
      password: 'p@ss',
      tls: false,
    })
    expect(parseRedisUrl('rediss+cluster://h:7000')).toMatchObject({ cluster: true, tls: true })
  })

  test.each([
    ['an empty host', 'redis+cluster://:secret@a:7000,,b:7001'],
    ['a database other than 0', 'redis+cluster://:secret@a:7000/3'],
    ['options in the URL', 'redis+cluster://:secret@a:7000?tls=true'],
  ])('%s is a RangeError that does not show the password', (_case, url) => {
    expect(() => parseRedisUrl(url)).toThrow(RangeError)
    try {
      parseRedisUrl(url)
    } catch (error) {
      expect((error as Error).message).not.toContain('secret')
    }
  })
})
