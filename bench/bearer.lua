-- wrk script: GET with `Authorization: Bearer $BENCH_TOKEN`; counts non-200 answers.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non200=%d\n", bad))
end
