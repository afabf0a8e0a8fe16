-- `ceiling` workload: the URL's own path (GET /health), the same bytes every
-- time. No request() function, so wrk sends a pre-built request: this is the
-- fastest wrk can go, with the same response() counting as every workload.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "lib.lua")
