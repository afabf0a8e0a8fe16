-- `home` workload: GET /api/v1/timelines/home?limit=20, each request as one
-- reader chosen Zipf-wise (a few users read very often, most rarely), each
-- with its own bearer token.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local readers, pick
local cache = {}

function workload_init()
  readers = lib.lines("ROOST_BENCH_READERS")
  pick = lib.zipf(#readers, lib.zipf_s)
end

function request()
  local i = pick()
  local req = cache[i]
  if not req then
    -- Each reader's request is always the same bytes: format it once.
    req = wrk.format("GET", "/api/v1/timelines/home?limit=20", lib.bearer(readers[i]))
    cache[i] = req
  end
  return req
end
