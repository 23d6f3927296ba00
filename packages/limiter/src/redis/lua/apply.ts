import { prelude } from './prelude'

/**
 * Applies, in order, the operations one limiter's callers issued during one tick of this process: acquisitions,
 * releases and cancels (so that a burst of calls costs one script call, and a release is seen by the acquisitions
 * issued after it). An acquisition takes `weight` from every part or from none (an atomic composite has several
 * parts: standalone Redis only, since the parts' keys have different hash tags).
 *
 * ARGV: number of operations; per part: kind, a, b (token bucket: size, tokens per ms; fixed window: window ms, max
 * requests; sliding window: window ms, limit; concurrency: limit, lease ttl ms); then per operation: op (`a`
 * acquire, `r` release, `x` cancel), weight, lease id, and one ticket per part (for `x`: the fixed window's window
 * number at acquisition, so that only the same window is refunded).
 *
 * Release frees concurrency permits; cancel also refunds rate capacity exactly: tokens back (capped at the bucket
 * size), the count of the same fixed window, the lease's own entries of a sliding window.
 *
 * Returns, per acquisition, 1 + max(2, parts) integers: `1, ticket per part` when granted, or `0, wait ms,
 * 1 if a concurrency part is short` when denied. The wait is exact for rate parts (0 when only concurrency is short:
 * it depends on releases). Publishes on `<key>:released` when permits came back, so that other processes waiting
 * for them retry at once.
 */
export const applyScript = `${prelude}
local parts = #KEYS
local count = tonumber(ARGV[1])
local kind, pa, pb, level, window, dirty, freed = {}, {}, {}, {}, {}, {}, {}
for i = 1, parts do
  local key = KEYS[i]
  kind[i], pa[i], pb[i] = ARGV[3 * i - 1], tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  freed[i] = 0
  if kind[i] == 'b' then
    level[i] = bucket_tokens(key, pa[i], pb[i])
  elseif kind[i] == 'f' then
    window[i] = math.floor(now / pa[i])
    local stored = redis.call('HMGET', key, 'w', 'c')
    level[i] = 0
    if tonumber(stored[1]) == window[i] then level[i] = tonumber(stored[2]) or 0 end
  elseif kind[i] == 's' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - pa[i])
    level[i] = redis.call('ZCARD', key)
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    level[i] = redis.call('ZCARD', key)
  end
end

local slot = 1 + math.max(2, parts)
local result = {}
for e = 0, count - 1 do
  local o = 1 + 3 * parts + e * (3 + parts)
  local op, weight, id = ARGV[o + 1], tonumber(ARGV[o + 2]), ARGV[o + 3]
  local base = #result
  if op == 'a' then
    local wait, short, concurrency_short = 0, 0, 0
    for i = 1, parts do
      local part_wait = 0
      if kind[i] == 'b' then
        if level[i] < weight then part_wait = math.ceil((weight - level[i]) / pb[i]) end
      elseif kind[i] == 'f' then
        if level[i] + weight > pb[i] then part_wait = math.ceil((window[i] + 1) * pa[i] - now) end
      elseif kind[i] == 's' then
        if level[i] + weight > pb[i] then
          local index = level[i] + weight - pb[i] - 1
          local oldest = redis.call('ZRANGE', KEYS[i], index, index, 'WITHSCORES')
          part_wait = math.max(1, math.ceil(tonumber(oldest[2]) + pa[i] - now))
        end
      elseif level[i] + weight > pa[i] then
        concurrency_short = 1
        short = i
      end
      if part_wait > 0 then
        short = i
        if part_wait > wait then wait = part_wait end
      end
    end
    for j = 1, slot do result[base + j] = 0 end
    if short > 0 then
      result[base + 2] = wait
      result[base + 3] = concurrency_short
    else
      result[base + 1] = 1
      for i = 1, parts do
        if kind[i] == 'b' then
          level[i] = level[i] - weight
        else
          level[i] = level[i] + weight
          if kind[i] == 'f' then result[base + 1 + i] = window[i]
          elseif kind[i] == 's' then add_members(KEYS[i], now, id, weight)
          else add_members(KEYS[i], now + pb[i], id, weight) end
        end
        dirty[i] = true
      end
    end
  else
    for i = 1, parts do
      if kind[i] == 'c' then
        local removed = remove_members(KEYS[i], id, weight)
        level[i] = level[i] - removed
        freed[i] = freed[i] + removed
      elseif op == 'x' then
        if kind[i] == 'b' then
          level[i] = math.min(pa[i], level[i] + weight)
          dirty[i] = true
        elseif kind[i] == 'f' then
          if tonumber(ARGV[o + 3 + i]) == window[i] then
            level[i] = math.max(0, level[i] - weight)
            dirty[i] = true
          end
        else
          level[i] = level[i] - remove_members(KEYS[i], id, weight)
        end
      end
    end
  end
end

for i = 1, parts do
  local key = KEYS[i]
  if dirty[i] then
    if kind[i] == 'b' then
      redis.call('HSET', key, 't', level[i], 'ts', now)
      redis.call('PEXPIRE', key, math.ceil(pa[i] / pb[i]) + 1000)
    elseif kind[i] == 'f' then
      redis.call('HSET', key, 'w', window[i], 'c', level[i])
      redis.call('PEXPIRE', key, math.max(1, math.ceil((window[i] + 1) * pa[i] - now)))
    elseif kind[i] == 's' then
      redis.call('PEXPIRE', key, math.ceil(pa[i]) + 1000)
    else
      redis.call('PEXPIRE', key, pb[i] + 1000)
    end
  end
  if freed[i] > 0 then redis.call('PUBLISH', key .. ':released', freed[i]) end
end
return result
`
