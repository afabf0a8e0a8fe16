-- `post` workload: POST /api/v1/statuses as an author chosen Zipf-wise, with
-- a body unique per thread and request (no Idempotency-Key: every request is
-- a new status).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local authors, pick
local counter = 0

function workload_init()
  authors = lib.lines("ROOST_BENCH_READERS")
  pick = lib.zipf(#authors, lib.zipf_s)
end

function request()
  counter = counter + 1
  local headers = lib.bearer(authors[pick()])
  headers["Content-Type"] = "application/json"
  local body = string.format('{"status":"wrk post %d-%d %d","visibility":"public"}',
    thread_id or 0, counter, lib.now_ms())
  return wrk.format("POST", "/api/v1/statuses", headers, body)
end
