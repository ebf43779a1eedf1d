-- wrk script: counts non-200 answers of a plain GET. `done` runs in wrk's main Lua state,
-- not in the threads' states: it sums the threads' counters (collected in `setup`).
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("non200=%d\n", n))
end
