-- wrk script: counts non-200 answers of a plain GET.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non200=%d\n", bad))
end
