#!/bin/bash
# Two source trees of roost against each other on one seeded graph, in the same run.
#
#   bench/ab_trees.sh TREE_A TREE_B DATA_DIR STATE.json NAME [WARM_UP_SECONDS]
#
# e.g. after `git worktree add /tmp/ab-old ec48107`:
#   bench/ab_trees.sh "$PWD" /tmp/ab-old /tmp/d10k /tmp/state10k.json home-head-vs-ec48107 60
#
# Copies DATA_DIR twice (each server writes its own), serves TREE_A's `roost up` on
# 127.0.0.1:18411 and TREE_B's on 127.0.0.1:18412 (each tree's own sources, the shared
# venv), warms both with interleaved home reads for WARM_UP_SECONDS per side (default 60),
# then measures `roost bench run --workload home --connections 32 --duration 30 --compare-target`
# (A B B A slices) into bench/results as NAME-DATE.json, and stops both servers by PID.
# Loopback only; every run stops by itself.
set -euo pipefail
A=$1; B=$2; DATA=$3; STATE=$4; NAME=$5; WARM=${6:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/roost-ab-XXXXXX)
cp -a "$DATA" "$WORK/a"; cp -a "$DATA" "$WORK/b"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done
  rm -rf "$WORK"
}
trap stop EXIT
serve() {  # TREE PORT DATA
  (cd "$1" && PYTHONPATH="$1/src" exec python -m roost up --port "$2" --data-dir "$3" --log-level warning) \
    >"$3.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$2/health" >/dev/null && return 0
    sleep 0.5
  done
  echo "the server of $1 did not answer on port $2 (see $3.log)" >&2
  return 1
}
serve "$A" 18411 "$WORK/a"
serve "$B" 18412 "$WORK/b"
run() { PYTHONPATH="$HERE/../src" python -m roost bench run --target http://127.0.0.1:18411 --state "$STATE" \
          --workload home --connections 32 --compare-target http://127.0.0.1:18412 "$@"; }
uptime
run --duration "$WARM" --warmup 0 --name warm-up >"$WORK/warm-up.txt" 2>&1
uptime
run --duration 30 --warmup 5 --name "$NAME" --results-dir "$HERE/results"
uptime
