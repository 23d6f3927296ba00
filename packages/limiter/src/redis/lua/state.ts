import { prelude } from './prelude'

/**
 * Reads each part's state without changing it. ARGV per part: kind, a, b (as for acquire). Returns three integers
 * per part: available now, milliseconds until capacity grows by itself (-1: only a release frees it), and the
 * permits in flight across all processes (-1 for rate parts, which do not know them).
 */
export const stateScript = `${prelude}
local result = {}
for i = 1, #KEYS do
  local key, kind = KEYS[i], ARGV[3 * i - 2]
  local a, b = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local available, next_refill, in_flight = 0, -1, -1
  if kind == 'b' then
    local tokens = bucket_tokens(key, a, b)
    available = math.floor(tokens)
    if tokens < a then next_refill = math.ceil((1 - (tokens - available)) / b) end
  elseif kind == 'f' then
    local _, _, ends, count = fixed_window(key, a)
    available = math.max(0, b - count)
    if count > 0 then next_refill = math.ceil(ends - now) end
  elseif kind == 's' then
    local count = redis.call('ZCOUNT', key, '(' .. (now - a), '+inf')
    available = math.max(0, b - count)
    if count > 0 then
      local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - a), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      next_refill = math.max(1, math.ceil(tonumber(oldest[2]) + a - now))
    end
  else
    in_flight = redis.call('ZCOUNT', key, '(' .. now, '+inf')
    available = math.max(0, a - in_flight)
  end
  result[#result + 1] = available
  result[#result + 1] = next_refill
  result[#result + 1] = in_flight
end
return result
`
