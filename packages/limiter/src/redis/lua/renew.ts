import { prelude } from './prelude'

/**
 * Extends the leases this process holds on one concurrency key to now + ttl. ZADD without XX on purpose: after a
 * FLUSHALL or a restart, Redis relearns the permits still in flight instead of letting others take them.
 *
 * ARGV: ttl ms, then pairs of lease id and weight.
 */
export const renewScript = `${prelude}
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  add_members(key, now + ttl, ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('PEXPIRE', key, ttl + 1000)
return 1
`
