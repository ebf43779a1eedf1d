-- wrk script for bench/checkout.sh's confirm phase: one buyer per wrk thread (run with
-- -tN -cN), each on its own connection confirming its own shipped lines one by one
-- (POST /orders/{id}/confirm {"item_ids": [item]}), every request a distinct line.
-- $BENCH_BUYERS names the "token product_id item_id" file of checkout.lua (thread n is
-- buyer n); $BENCH_LINES a file of "buyer order_id item_id" lines. A thread that runs out
-- of lines asks for /healthz instead (counted as `exhausted`, not as a confirmation).
local threads = {}
local tokens = {}
for line in io.lines(os.getenv("BENCH_BUYERS")) do
  table.insert(tokens, (line:match("(%S+)")))
end

function setup(thread)
  local n = #threads + 1
  thread:set("id", n)
  thread:set("token", tokens[(n - 1) % #tokens + 1])
  table.insert(threads, thread)
end

confirmed, refused, exhausted = 0, 0, 0
local mine, next_line, last_was_confirm = nil, 1, false

function request()
  if mine == nil then
    mine = {}
    for line in io.lines(os.getenv("BENCH_LINES")) do
      local buyer, order, item = line:match("(%S+) (%S+) (%S+)")
      if tonumber(buyer) == id then table.insert(mine, { order = order, item = item }) end
    end
  end
  local l = mine[next_line]
  if l == nil then
    last_was_confirm = false
    return wrk.format("GET", "/healthz")
  end
  next_line = next_line + 1
  last_was_confirm = true
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/v1/orders/" .. l.order .. "/confirm", headers,
    string.format('{"item_ids": [%s]}', l.item))
end

function response(status, headers, body)
  if not last_was_confirm then
    exhausted = exhausted + 1
  elseif status == 200 then
    confirmed = confirmed + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local c, r, e = 0, 0, 0
  for _, t in ipairs(threads) do
    c, r, e = c + t:get("confirmed"), r + t:get("refused"), e + t:get("exhausted")
  end
  io.write(string.format("confirmed=%d\nrefused=%d\nexhausted=%d\nconfirms_per_s=%.1f\n", c, r, e,
    c / (summary.duration / 1e6)))
end
