-- POST /v1/flags/evaluate for one of 1,000 users (bench/flags.py sets KEY).
local key = os.getenv("EVENTKIT_BENCH_KEY")
local countries = {"US", "CA", "DE", "FR", "GB", "JP", "BR", "IN", "ES", "IT"}
local versions = {"1.9.0", "2.0.0", "2.1.3", "2.3.0", "2.4.1", "3.0.0"}
local platforms = {"ios", "android"}
local bodies = {}
for i = 0, 999 do
  bodies[i + 1] = string.format(
    '{"user_id":"user-%d","context":{"country":"%s","app_version":"%s","platform":"%s"}}',
    i, countries[(i % 10) + 1], versions[(i % 6) + 1], platforms[(i % 2) + 1])
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

request = function()
  n = n + 1
  return wrk.format(nil, "/v1/flags/evaluate", nil, bodies[(n % 1000) + 1])
end

done = function(summary, latency, requests)
  io.write(string.format("WRK_RESULT %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
