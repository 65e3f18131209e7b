-- wrk script: POST an OpenAI chat completion; prints one machine-readable RESULT line.
-- Vendored from the project's shared benchmark references (shared/bench/chat.lua), unchanged.
-- env: BENCH_KEY (bearer key, may be empty), BENCH_MODEL (default mock-gpt), BENCH_STREAM=1 for SSE.
local key = os.getenv("BENCH_KEY") or ""
local model = os.getenv("BENCH_MODEL") or "mock-gpt"
local stream = os.getenv("BENCH_STREAM") == "1"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
wrk.body = '{"model":"' .. model .. '","messages":['
  .. '{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely."},'
  .. '{"role":"user","content":"Explain in two sentences what an AI gateway does and why latency matters for it."}'
  .. '],"max_tokens":64,"temperature":0.2'
  .. (stream and ',"stream":true' or '') .. '}'

-- Stock wrk "corrects" the latency histogram for coordinated omission before done() runs
-- (it adds synthetic samples), which inflates tails most for the fastest targets. The
-- patched build (wrk/build_wrk_raw.sh, WRK_RAW_LATENCY=1) keeps the raw samples. With
-- BENCH_CONNS set, co_corrected=1 flags a histogram that cannot be raw (closed loop:
-- mean latency x requests / connections can not exceed the run time).
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local conns = tonumber(os.getenv("BENCH_CONNS") or "0") or 0
  local co = 0
  if conns > 0 and latency.mean * summary.requests / conns > summary.duration * 1.10 then co = 1 end
  io.write(string.format(
    "RESULT requests=%d secs=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f "
    .. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d bytes=%d co_corrected=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes, co))
end
