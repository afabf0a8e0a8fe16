-- Shared by every roost workload script for wrk (Debian wrk 4.1, LuaJIT).
--
-- A workload script does `local lib = dofile(<dir> .. "lib.lua")`, may define
-- `workload_init()` (called once per wrk thread) and `request()`. This file
-- defines wrk's global hooks:
--   setup/init  number the threads and seed each thread's PRNG;
--   response    counts status codes and completions per time bucket, per
--               thread (no locks: each wrk thread has its own Lua state);
--   done        merges the threads' counters and writes one JSON summary to
--               $ROOST_BENCH_OUT: totals, socket errors, status codes, the
--               per-bucket series and the latency distribution.
--
-- Inputs come from the environment, because done() runs in wrk's main Lua
-- state, which never sees the `-- args` that only reach init():
--   ROOST_BENCH_OUT        where done() writes its JSON (required)
--   ROOST_BENCH_READERS    bearer tokens, one per line, most active first
--   ROOST_BENCH_READER_IDS the account ids of those readers, same order
--   ROOST_BENCH_TARGETS    account ids, one per line, most popular first
--   ROOST_BENCH_STATUSES   status ids, one per line
--   ROOST_BENCH_ZIPF       Zipf exponent for choosing lines (default 1.0)
--   ROOST_BENCH_BUCKET_MS  width of a time-series bucket (default 1000)
--   ROOST_BENCH_T0_MS      wall-clock ms the buckets count from (default 0)
--   ROOST_BENCH_LATENCY_GRID=1  always export the percentile grid (tests)

local ffi = require "ffi"
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } roost_timespec;
int clock_gettime(int clk_id, roost_timespec *tp);
]]

local M = {}
local ts = ffi.new("roost_timespec")
local CLOCK_REALTIME = 0

-- Wall-clock milliseconds: the Python side aligns buckets of several wrk
-- runs (slices) on one time axis, so a shared clock is needed; os.time()
-- only has whole seconds.
function M.now_ms()
  ffi.C.clock_gettime(CLOCK_REALTIME, ts)
  return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1000000)
end

function M.lines(var)
  local path = os.getenv(var)
  if not path or path == "" then
    error(var .. " is not set")
  end
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then
      out[#out + 1] = line
    end
  end
  if #out == 0 then
    error(path .. " is empty")
  end
  return out
end

M.zipf_s = tonumber(os.getenv("ROOST_BENCH_ZIPF") or "1.0")

-- Returns a function drawing 1..n with probability proportional to 1/rank^s.
function M.zipf(n, s)
  local cum, total = {}, 0
  for r = 1, n do
    total = total + 1 / r ^ s
    cum[r] = total
  end
  return function()
    local x = math.random() * total
    local lo, hi = 1, n
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cum[mid] < x then lo = mid + 1 else hi = mid end
    end
    return lo
  end
end

function M.uniform(n)
  return function() return math.random(n) end
end

function M.bearer(token)
  return { Authorization = "Bearer " .. token }
end

-- Per-thread counters, read by done() through thread:get().
codes, buckets, bucket_errors = {}, {}, {}
local bucket_ms = tonumber(os.getenv("ROOST_BENCH_BUCKET_MS") or "1000")
local t0_ms = tonumber(os.getenv("ROOST_BENCH_T0_MS") or "0")

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  local b = math.floor((M.now_ms() - t0_ms) / bucket_ms)
  buckets[b] = (buckets[b] or 0) + 1
  if status >= 400 then
    bucket_errors[b] = (bucket_errors[b] or 0) + 1
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

function init(args)
  math.randomseed(M.now_ms() * 7919 + (thread_id or 0) * 104729)
  if workload_init then
    workload_init(args)
  end
end

-- Latency export. wrk keeps one counter per microsecond, but reading the
-- i-th non-empty counter from Lua walks the array from the start each
-- time, so a wide distribution would take minutes to dump. Dump the exact
-- histogram when that is cheap, else a fine grid of percentiles (exact
-- values at those ranks), which roost.bench.stats turns back into a
-- histogram.
local function latency_export(latency)
  local span = latency.max - latency.min
  local pop = #latency
  if pop * (span + 1) <= 2e8 and os.getenv("ROOST_BENCH_LATENCY_GRID") ~= "1" then
    local pairs_out = {}
    for i = 1, pop do
      local v, c = latency(i)
      pairs_out[#pairs_out + 1] = string.format("[%d,%d]", v, c)
    end
    return '"latency_hist":[' .. table.concat(pairs_out, ",") .. "]"
  end
  local grid, p = {}, 0.5
  while p <= 99 do grid[#grid + 1] = p; p = p + 0.5 end
  p = 99.05
  while p <= 99.9 + 1e-9 do grid[#grid + 1] = p; p = p + 0.05 end
  p = 99.905
  while p <= 99.99 + 1e-9 do grid[#grid + 1] = p; p = p + 0.005 end
  grid[#grid + 1] = 99.999
  local q = {}
  for _, g in ipairs(grid) do
    q[#q + 1] = string.format("[%.3f,%d]", g, latency:percentile(g))
  end
  q[#q + 1] = string.format("[100,%d]", latency.max)
  return '"latency_quantiles":[' .. table.concat(q, ",") .. "]"
end

local function merge(into, from)
  for k, v in pairs(from or {}) do
    into[k] = (into[k] or 0) + v
  end
end

local function encode_counts(t, quote)
  local out = {}
  for k, v in pairs(t) do
    if quote then
      out[#out + 1] = string.format('"%d":%d', k, v)
    else
      out[#out + 1] = string.format("[%.0f,%d]", k, v)
    end
  end
  return table.concat(out, ",")
end

function done(summary, latency, requests)
  -- wrk's measured window ends about now; the caller derives its start.
  local done_ms = M.now_ms()
  local all_codes, all_buckets, all_errors = {}, {}, {}
  for _, t in ipairs(threads) do
    merge(all_codes, t:get("codes"))
    merge(all_buckets, t:get("buckets"))
    merge(all_errors, t:get("bucket_errors"))
  end
  local e = summary.errors
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"bytes":%d', summary.bytes),
    string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.timeout),
    string.format('"non_2xx_3xx":%d', e.status),
    '"codes":{' .. encode_counts(all_codes, true) .. "}",
    string.format('"bucket_ms":%d', bucket_ms),
    string.format('"t0_ms":%.0f', t0_ms),
    string.format('"done_ms":%.0f', done_ms),
    '"buckets":[' .. encode_counts(all_buckets, false) .. "]",
    '"bucket_errors":[' .. encode_counts(all_errors, false) .. "]",
    string.format('"latency_count":%d', summary.requests),
    latency_export(latency),
  }
  local path = os.getenv("ROOST_BENCH_OUT")
  local f = assert(io.open(path, "w"))
  f:write("{" .. table.concat(parts, ",") .. "}\n")
  f:close()
end

return M
