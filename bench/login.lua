-- wrk script: POST /api/v1/auth/login with the credentials in BENCH_EMAIL / BENCH_PASSWORD.
-- Counts non-200 answers (bench/ok.lua) so a rate limit or lock-out cannot pass for throughput.
dofile("bench/ok.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
