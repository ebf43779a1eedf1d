-- wrk script: counts answers other than `ok_status` (default 200; set it before `dofile`)
-- of a plain GET. `done` runs in wrk's main Lua state, not in the threads' states: it sums
-- the threads' counters (collected in `setup`). Printed as `non200=` whatever `ok_status`.
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
local expected = ok_status or 200
function response(status, headers, body)
  if status ~= expected then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("non200=%d\n", n))
end
