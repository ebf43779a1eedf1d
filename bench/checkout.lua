-- wrk script for bench/checkout.sh: one buyer per wrk thread (run with -tN -cN), each on
-- its own connection alternating POST /cart/items (one unit of its item) and a keyed
-- POST /orders. $BENCH_BUYERS names a file of "token product_id item_id" lines, one per
-- thread. Prints orders (201s), refusals (other answers to POST /orders), bad cart adds
-- and orders/s; `done` runs in the main Lua state and sums the threads' counters.
local threads = {}
local buyers = {}
for line in io.lines(os.getenv("BENCH_BUYERS")) do
  local token, product, item = line:match("(%S+) (%S+) (%S+)")
  table.insert(buyers, { token = token, product = product, item = item })
end

function setup(thread)
  local n = #threads + 1
  local buyer = buyers[(n - 1) % #buyers + 1]
  thread:set("id", n)
  thread:set("token", buyer.token)
  thread:set("product", buyer.product)
  thread:set("item", buyer.item)
  table.insert(threads, thread)
end

orders, refused, bad_adds, step = 0, 0, 0, 0
local run = tostring(os.time())

function request()
  step = step + 1
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if step % 2 == 1 then
    local body = string.format('{"product_id": %s, "item_id": %s, "quantity": 1}', product, item)
    return wrk.format("POST", "/api/v1/cart/items", headers, body)
  end
  headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, id, step)
  return wrk.format("POST", "/api/v1/orders", headers, "{}")
end

-- One connection per thread: answers come back in request order.
function response(status, headers, body)
  if step % 2 == 1 then
    if status ~= 200 then bad_adds = bad_adds + 1 end
  elseif status == 201 then
    orders = orders + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local o, r, b = 0, 0, 0
  for _, t in ipairs(threads) do
    o, r, b = o + t:get("orders"), r + t:get("refused"), b + t:get("bad_adds")
  end
  io.write(string.format("orders=%d\nrefused=%d\nbad_adds=%d\norders_per_s=%.1f\n", o, r, b, o / (summary.duration / 1e6)))
end
