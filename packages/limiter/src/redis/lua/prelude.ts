/**
 * Lua shared by every script: Redis time in milliseconds (never the process clock, so clock skew between processes
 * does not matter) and the members of a lease in a sorted set (one member per unit of weight, `<lease id>#<n>`).
 *
 * Every script works on parts: KEYS[i] is the key of part i, and ARGV describes it by a one-letter kind (`b` token
 * bucket, `f` fixed window, `s` sliding window, `c` concurrency) and two numbers. Every script treats a missing key
 * as a fresh limit, so FLUSHALL, a restart without persistence or a PEXPIRE that ran out resets the state instead
 * of breaking it; every write sets a PEXPIRE, so idle limiters vanish.
 */
export const prelude = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function add_members(key, score, id, weight)
  local args = {}
  for j = 1, weight do
    args[#args + 1] = score
    args[#args + 1] = id .. '#' .. j
    if #args >= 1000 then
      redis.call('ZADD', key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', key, unpack(args)) end
end

local function remove_members(key, id, weight)
  local removed = 0
  local args = {}
  for j = 1, weight do
    args[#args + 1] = id .. '#' .. j
    if #args >= 1000 then
      removed = removed + redis.call('ZREM', key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then removed = removed + redis.call('ZREM', key, unpack(args)) end
  return removed
end

-- Tokens now: refilled since the last write at the rate given, capped at the size given (a smaller size, after a
-- reconfiguration, caps the tokens kept).
local function bucket_tokens(key, size, per_ms)
  local stored = redis.call('HMGET', key, 't', 'ts')
  local tokens, at = tonumber(stored[1]), tonumber(stored[2])
  if tokens == nil or at == nil then return size end
  if now > at then tokens = tokens + (now - at) * per_ms end
  return math.min(size, tokens)
end

-- The fixed window a count belongs to: the stored one while it lasts (it keeps the length it began with, stored as
-- 'l', so that a new window length applies from the next window), else the window of now, aligned on the length
-- given. Returns the window's number, its length, its end (ms) and the count in it.
local function fixed_window(key, length)
  local stored = redis.call('HMGET', key, 'w', 'c', 'l')
  local w, count, span = tonumber(stored[1]), tonumber(stored[2]) or 0, tonumber(stored[3]) or length
  if w and w * span <= now and now < (w + 1) * span then return w, span, (w + 1) * span, count end
  w = math.floor(now / length)
  return w, length, (w + 1) * length, 0
end
`
