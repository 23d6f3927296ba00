import { prelude } from './prelude'

/**
 * Applies, in order, the operations one limiter's callers issued during one tick of this process: acquisitions,
 * releases, cancels and queue departures (so that a burst of calls costs one script call, and a release is seen by
 * the acquisitions issued after it). An acquisition takes `weight` from every part or from none (an atomic
 * composite has several parts: standalone Redis only, since the parts' keys have different hash tags).
 *
 * KEYS: one per part, then the limiter's queue (a sorted set of places, scored by arrival) and the queue's expiry
 * (the same places, scored by the time each lapses unless its process asks again).
 *
 * ARGV: number of operations; place ttl ms; per part: kind, a, b (token bucket: size, tokens per ms; fixed window:
 * window ms, max requests; sliding window: window ms, limit; concurrency: limit, lease ttl ms); then per operation:
 * op, weight, lease id, place, and one refund ticket per part (for `x`: the end, in ms, of the fixed window the lease
 * was counted in, so that only the same window is refunded). The limit values are the caller's current ones: a
 * reconfigured limiter passes its new values, which apply to the counts kept. Ops:
 *
 * - `a` acquire: granted only while nobody is queued (a newcomer never jumps the queue);
 * - `w` acquire for a waiting caller holding `place`: granted when the place is the head of the queue (or the queue
 *   is empty); otherwise the place joins the queue at its tail, or stays where it is, and is kept alive;
 * - `r` release: frees concurrency permits; `x` cancel: also refunds rate capacity exactly (tokens back, capped at
 *   the bucket size; the count of the same fixed window; the lease's own sliding-window entries);
 * - `l` leave: the place leaves the queue (its process has nobody waiting any more).
 *
 * Returns, per acquisition, 1 + max(3, parts) integers: `1, ticket per part` when granted; when denied `0, wait ms,
 * reason, reclaim ms` where reason is 0 (rate), 1 (concurrency) or 2 (queue: others are ahead), wait is exact for
 * rate parts (0 when only concurrency is short: it depends on releases), and reclaim is the time until the earliest
 * permit of a short concurrency part expires (-1 when none is short).
 *
 * Wake-ups: publishes on `<concurrency key>:released` when permits came back — released, cancelled or reclaimed
 * after their lease expired — and on `<queue key>:released` when the head of the queue changed or rate capacity was
 * refunded while someone is queued, so that waiters in every process retry at once instead of at their next poll.
 */
export const applyScript = `${prelude}
local parts = #KEYS - 2
local queue, expiry = KEYS[parts + 1], KEYS[parts + 2]
local count, place_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local kind, pa, pb, level, window, span, ends, dirty, freed, reclaim = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
for i = 1, parts do
  local key = KEYS[i]
  kind[i], pa[i], pb[i] = ARGV[3 * i], tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  freed[i] = 0
  if kind[i] == 'b' then
    level[i] = bucket_tokens(key, pa[i], pb[i])
  elseif kind[i] == 'f' then
    window[i], span[i], ends[i], level[i] = fixed_window(key, pa[i])
  elseif kind[i] == 's' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - pa[i])
    level[i] = redis.call('ZCARD', key)
  else
    -- Permits whose lease expired (their process stopped renewing) come back like released ones.
    freed[i] = redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    level[i] = redis.call('ZCARD', key)
  end
end

-- The head of the queue, after dropping places that lapsed (their process stopped asking).
local moved, queue_dirty = false, false
local function first()
  return redis.call('ZRANGE', queue, 0, 0)[1]
end
local head = first()
while head do
  local lapses = tonumber(redis.call('ZSCORE', expiry, head))
  if lapses and lapses > now then break end
  redis.call('ZREM', queue, head)
  redis.call('ZREM', expiry, head)
  moved = true
  head = first()
end

local function join(place)
  if not redis.call('ZSCORE', queue, place) then
    -- After the tail, so that arrival order holds even within one millisecond.
    local score = now
    local tail = redis.call('ZRANGE', queue, -1, -1, 'WITHSCORES')
    if tail[2] and tonumber(tail[2]) >= score then score = tonumber(tail[2]) + 1 end
    redis.call('ZADD', queue, score, place)
    if not head then head = place end
  end
  redis.call('ZADD', expiry, now + place_ttl, place)
  queue_dirty = true
end

local function leave(place)
  if redis.call('ZREM', queue, place) == 1 then
    redis.call('ZREM', expiry, place)
    queue_dirty = true
    if place == head then
      head = first()
      moved = true
    end
  end
end

local function reclaim_in(i)
  if reclaim[i] == nil then
    local earliest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    reclaim[i] = -1
    if earliest[2] then reclaim[i] = math.max(1, math.ceil(tonumber(earliest[2]) - now)) end
  end
  return reclaim[i]
end

local slot = 1 + math.max(3, parts)
local refunded = false
local result = {}
for e = 0, count - 1 do
  local o = 2 + 3 * parts + e * (4 + parts)
  local op, weight, id, place = ARGV[o + 1], tonumber(ARGV[o + 2]), ARGV[o + 3], ARGV[o + 4]
  local base = #result
  if op == 'a' or op == 'w' then
    local wait, short, concurrency_short, reclaim_ms = 0, 0, 0, -1
    for i = 1, parts do
      local part_wait = 0
      if kind[i] == 'b' then
        if level[i] < weight then part_wait = math.ceil((weight - level[i]) / pb[i]) end
      elseif kind[i] == 'f' then
        if level[i] + weight > pb[i] then part_wait = math.ceil(ends[i] - now) end
      elseif kind[i] == 's' then
        if level[i] + weight > pb[i] then
          local index = level[i] + weight - pb[i] - 1
          local oldest = redis.call('ZRANGE', KEYS[i], index, index, 'WITHSCORES')
          part_wait = math.max(1, math.ceil(tonumber(oldest[2]) + pa[i] - now))
        end
      elseif level[i] + weight > pa[i] then
        concurrency_short = 1
        short = i
        local part_reclaim = reclaim_in(i)
        if part_reclaim > 0 and (reclaim_ms < 0 or part_reclaim < reclaim_ms) then reclaim_ms = part_reclaim end
      end
      if part_wait > 0 then
        short = i
        if part_wait > wait then wait = part_wait end
      end
    end
    -- Others are ahead unless this caller's place is the head.
    local behind = head and not (op == 'w' and head == place)
    for j = 1, slot do result[base + j] = 0 end
    if short > 0 or behind then
      result[base + 2] = wait
      result[base + 3] = behind and 2 or concurrency_short
      result[base + 4] = reclaim_ms
      if op == 'w' then join(place) end
    else
      result[base + 1] = 1
      for i = 1, parts do
        if kind[i] == 'b' then
          level[i] = level[i] - weight
        else
          level[i] = level[i] + weight
          if kind[i] == 'f' then result[base + 1 + i] = math.floor(ends[i])
          elseif kind[i] == 's' then add_members(KEYS[i], now, id, weight)
          else add_members(KEYS[i], now + pb[i], id, weight) end
        end
        dirty[i] = true
      end
      -- Granted from a place: it was the head (or the queue is empty, and the place was never in it).
      if op == 'w' and head == place then leave(place) end
    end
  elseif op == 'l' then
    leave(place)
  else
    for i = 1, parts do
      if kind[i] == 'c' then
        local removed = remove_members(KEYS[i], id, weight)
        level[i] = level[i] - removed
        freed[i] = freed[i] + removed
      elseif op == 'x' then
        refunded = true
        if kind[i] == 'b' then
          level[i] = math.min(pa[i], level[i] + weight)
          dirty[i] = true
        elseif kind[i] == 'f' then
          if tonumber(ARGV[o + 4 + i]) == math.floor(ends[i]) then
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
      redis.call('HSET', key, 'w', window[i], 'c', level[i], 'l', span[i])
      redis.call('PEXPIRE', key, math.max(1, math.ceil(ends[i] - now)))
    elseif kind[i] == 's' then
      redis.call('PEXPIRE', key, math.ceil(pa[i]) + 1000)
    else
      redis.call('PEXPIRE', key, pb[i] + 1000)
    end
  end
  if freed[i] > 0 then redis.call('PUBLISH', key .. ':released', freed[i]) end
end
if queue_dirty and head then
  redis.call('PEXPIRE', queue, place_ttl + 1000)
  redis.call('PEXPIRE', expiry, place_ttl + 1000)
end
if head and (moved or refunded) then redis.call('PUBLISH', queue .. ':released', 1) end
return result
`
