-- wrk script: POST /api/v1/wallet/payouts as one of the sellers in $BENCH_TOKENS (space
-- separated), round robin, each request with a fresh Idempotency-Key; counts non-201 answers.
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS"), "%S+") do tokens[#tokens + 1] = t end
ok_status = 201
dofile("bench/ok.lua")
local count_answers = setup
local n = 0
local thread_id = 0
local body = '{"amount": 1, "bank_code": "088", "account_number": "110-123-456789", "account_holder": "Bench Seller"}'
function setup(thread)
  count_answers(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
function request()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", thread_id, n, math.random(1, 1000000000)),
  }
  return wrk.format("POST", "/api/v1/wallet/payouts", headers, body)
end
