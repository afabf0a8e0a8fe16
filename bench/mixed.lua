-- `mixed` workload: 90% reads, 10% writes, by Zipf-chosen users.
--   reads:  40% home timeline, 15% public timeline, 15% an account's
--           statuses (popular accounts more often), 20% a single status
--   writes: 5% new status, 3% favourite, 2% follow (popular accounts more
--           often; following again is harmless)
-- The same mix is in roost/bench/workloads.py for the open-loop driver.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local readers, reader_ids, targets, statuses
local pick_reader, pick_target, pick_status
local counter = 0

function workload_init()
  readers = lib.lines("ROOST_BENCH_READERS")
  reader_ids = lib.lines("ROOST_BENCH_READER_IDS")
  targets = lib.lines("ROOST_BENCH_TARGETS")
  statuses = lib.lines("ROOST_BENCH_STATUSES")
  pick_reader = lib.zipf(#readers, lib.zipf_s)
  pick_target = lib.zipf(#targets, lib.zipf_s)
  pick_status = lib.uniform(#statuses)
end

function request()
  local reader = pick_reader()
  local headers = lib.bearer(readers[reader])
  local r = math.random() * 100
  if r < 40 then
    return wrk.format("GET", "/api/v1/timelines/home?limit=20", headers)
  elseif r < 55 then
    return wrk.format("GET", "/api/v1/timelines/public?limit=20", headers)
  elseif r < 70 then
    return wrk.format("GET", "/api/v1/accounts/" .. targets[pick_target()] .. "/statuses?limit=20", headers)
  elseif r < 90 then
    return wrk.format("GET", "/api/v1/statuses/" .. statuses[pick_status()], headers)
  elseif r < 95 then
    counter = counter + 1
    headers["Content-Type"] = "application/json"
    local body = string.format('{"status":"wrk mixed %d-%d","visibility":"public"}', thread_id or 0, counter)
    return wrk.format("POST", "/api/v1/statuses", headers, body)
  elseif r < 98 then
    return wrk.format("POST", "/api/v1/statuses/" .. statuses[pick_status()] .. "/favourite", headers)
  else
    local target = targets[pick_target()]
    if target == reader_ids[reader] then
      -- Following oneself is a 403 by design, not a server error to count.
      target = targets[1] ~= target and targets[1] or targets[2]
    end
    return wrk.format("POST", "/api/v1/accounts/" .. target .. "/follow", headers)
  end
end
