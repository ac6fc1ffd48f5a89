-- POST a fixed body and report results as one JSON line for bench/load.py.
-- Env: BENCH_BODY_FILE (request body). Headers come from wrk's -H flags.
-- The response() callback costs about 3% of wrk's throughput; it is needed because
-- wrk's own status error count only covers statuses >= 400.
-- With BENCH_IDS_FILE set, each thread also writes the Helicone-Id of every 2xx answer
-- to <BENCH_IDS_FILE>.<thread>.ids (buffered; flushed when wrk exits), so that losses
-- are counted by id (bench/ids.py).

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
wrk.method = "POST"

local threads = {}
local ids_prefix = os.getenv("BENCH_IDS_FILE")

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  non2xx = 0
  if ids_prefix then
    ids = assert(io.open(ids_prefix .. "." .. thread_number .. ".ids", "w"))
    ids:setvbuf("full")
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif ids then
    local id = headers["helicone-id"] or headers["Helicone-Id"]
    if id then
      ids:write(id, "\n")
    end
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do
    non2xx = non2xx + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_ms":%.4f,"p90_ms":%.4f,"p95_ms":%.4f,"p99_ms":%.4f,"max_ms":%.4f,"mean_ms":%.4f,' ..
    '"non2xx":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    non2xx, e.connect, e.read, e.write, e.timeout))
end
