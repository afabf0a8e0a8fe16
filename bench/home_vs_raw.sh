#!/bin/sh
# roost's home timeline against bench/raw_asgi.py sending a home page of the
# same size, alternating in one run: what roost costs on top of uvicorn and a
# 20-status body (the issue's "raw ASGI app returning a 20-status JSON body").
#
#   bench/home_vs_raw.sh ROOST_URL STATE.json [DURATION]
#
# The raw app serves one page saved from roost with the first account's token.
# Results go to bench/results/. Only the raw app this script starts is stopped,
# by its PID.
set -eu
cd "$(dirname "$0")/.."
ROOST_URL=$1
STATE=$2
DURATION=${3:-30}
PORT=${RAW_ASGI_PORT:-8199}
RAW=http://127.0.0.1:$PORT
BIN=.venv/bin
BODY=$(mktemp)

TOKEN=$($BIN/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["accounts"][0][3])' "$STATE")
curl -sf -H "Authorization: Bearer $TOKEN" "$ROOST_URL/api/v1/timelines/home?limit=20" >"$BODY"
echo "raw app will send a saved home page of $(wc -c <"$BODY") bytes"

. bench/raw_asgi.sh
trap 'kill "${RAW_PID:-}" 2>/dev/null || true; rm -f "$BODY"' EXIT INT TERM
export RAW_ASGI_BODY="$BODY"
start_raw_asgi

$BIN/roost bench run --target "$ROOST_URL" --state "$STATE" --workload home --compare-target "$RAW" \
    --connections 32 --duration "$DURATION" --warmup 5 --name home-vs-raw-asgi-home-page \
    --results-dir bench/results
