-- wrk script: GET with `Authorization: Bearer $BENCH_TOKEN`; counts non-200 answers.
dofile("bench/ok.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
