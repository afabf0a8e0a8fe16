#!/bin/sh
# Measure the load generators' own ceiling against bench/raw_asgi.py (served by
# uvicorn exactly as roost is), and against a running roost's /health in the
# same run (A B B A slices, so the ratio holds while the machine drifts).
#
#   bench/loadgen_ceiling.sh [ROOST_URL] [DURATION]
#
# ROOST_URL defaults to http://127.0.0.1:8080 (`make up`); results go to
# bench/results/. Only processes this script starts are stopped, by PID.
set -eu
cd "$(dirname "$0")/.."
ROOST_URL=${1:-http://127.0.0.1:8080}
DURATION=${2:-20}
PORT=${RAW_ASGI_PORT:-8199}
RAW=http://127.0.0.1:$PORT
BIN=.venv/bin

. bench/raw_asgi.sh
trap 'kill "${RAW_PID:-}" 2>/dev/null || true' EXIT INT TERM
start_raw_asgi

# wrk, closed loop: the most it can report on this machine.
$BIN/roost bench run --target "$RAW" --workload ceiling --connections 64 --duration "$DURATION" \
    --name loadgen-wrk-raw-asgi --results-dir bench/results
# The asyncio open-loop driver at fixed rates around its limit.
for RATE in 5000 10000; do
    $BIN/roost bench run --target "$RAW" --workload ceiling --connections 64 --duration "$DURATION" \
        --rate "$RATE" --name "loadgen-openloop-$RATE-raw-asgi" --results-dir bench/results
done
# Raw ASGI against roost's own /health, alternating in one run.
if curl -sf "$ROOST_URL/health" >/dev/null; then
    $BIN/roost bench run --target "$RAW" --workload ceiling --compare-target "$ROOST_URL" \
        --connections 64 --duration "$DURATION" --name loadgen-raw-asgi-vs-roost-health \
        --results-dir bench/results
else
    echo "no roost at $ROOST_URL: skipped the raw ASGI vs roost /health comparison" >&2
fi
