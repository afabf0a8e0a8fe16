#!/usr/bin/env bash
# The shard-file fault probes of issue #8, against a real `roost up`:
# delete a shard, swap two, corrupt one, make one not a database, change the shard
# count, then fill the disk under a running server (a tmpfs; needs root to mount).
#
#   bench/shard_faults.sh [workdir]        (default: a new directory under /tmp)
#
# Prints, for each fault, what `roost up` says and its exit code, then the /ready and
# POST answers on a full disk and after space frees.
set -u
ROOST=${ROOST:-roost}
WORK=${1:-$(mktemp -d /tmp/roost-shard-faults.XXXXXX)}
PORT=${PORT:-18431}
BASE=http://127.0.0.1:$PORT
mkdir -p "$WORK"
SERVER_PID=""

start() {  # start roost up on $1 in its own session, wait for /ready
    setsid "$ROOST" up --port "$PORT" --data-dir "$1" --log-level warning >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "$BASE/ready" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not become ready:"; cat "$WORK/server.log"; return 1
}
stop() {  # SIGTERM to the session we started, and wait for it
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM -- "-$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
trap stop EXIT

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

register() {  # register $1, print its user token
    local app cid csecret apptoken
    app=$(curl -s -X POST "$BASE/api/v1/apps" -d client_name=probe -d redirect_uris=urn:ietf:wg:oauth:2.0:oob \
          -d 'scopes=read write follow')
    cid=$(echo "$app" | json '["client_id"]'); csecret=$(echo "$app" | json '["client_secret"]')
    apptoken=$(curl -s -X POST "$BASE/oauth/token" -d grant_type=client_credentials -d client_id="$cid" \
               -d client_secret="$csecret" -d 'scope=read write follow' | json '["access_token"]')
    curl -s -X POST "$BASE/api/v1/accounts" -H "Authorization: Bearer $apptoken" -d username="$1" \
         -d email="$1@example.com" -d password=correcthorse -d agreement=true -d locale=en | json '["access_token"]'
}

refusal() {  # $1: label; run roost up on $WORK/case and report
    local out rc
    out=$(timeout 60 "$ROOST" up --port "$PORT" --data-dir "$WORK/case" 2>&1); rc=$?
    printf '%-16s exit %s: %s\n' "$1" "$rc" "$out"
}

fresh_case() { rm -rf "$WORK/case"; cp -a "$WORK/pristine" "$WORK/case"; }

echo "== a data directory with one account (alice), made by roost up"
start "$WORK/pristine" || exit 1
TOKEN=$(register alice)
curl -s -o /dev/null -X POST "$BASE/api/v1/statuses" -H "Authorization: Bearer $TOKEN" -d 'status=before the faults'
stop
ALICE_SHARD=$(for f in "$WORK"/pristine/shards/shard-*.sqlite3; do
    [ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM accounts WHERE username='alice'\").fetchone()[0])" "$f")" = 1 ] && basename "$f"
done)
echo "alice lives in shards/$ALICE_SHARD"

echo "== shard-file faults: roost up must refuse with one line and a non-zero exit"
fresh_case; rm "$WORK/case/shards/$ALICE_SHARD"; refusal "deleted shard"
fresh_case; mv "$WORK/case/shards/shard-00.sqlite3" "$WORK/x"; mv "$WORK/case/shards/shard-01.sqlite3" \
    "$WORK/case/shards/shard-00.sqlite3"; mv "$WORK/x" "$WORK/case/shards/shard-01.sqlite3"; refusal "swapped shards"
fresh_case; python3 - "$WORK/case/shards/$ALICE_SHARD" <<'EOF'
import os, sys
path = sys.argv[1]
with open(path, "r+b") as f:  # a page in the middle of the file
    f.seek(os.path.getsize(path) // 2 // 4096 * 4096)
    f.write(b"\xff" * 4096)
EOF
refusal "corrupt page"
fresh_case; head -c 65536 /dev/urandom >"$WORK/case/log.sqlite3"; refusal "not a database"
fresh_case; rm "$WORK/case/timelines.sqlite3"
echo "-- the timeline store is derived data: deleted, it is recreated and homes rebuilt from the shards"
start "$WORK/case" && echo "   started; /ready $(curl -s -o /dev/null -w '%{http_code}' "$BASE/ready");" \
    "alice's home: $(curl -s "$BASE/api/v1/timelines/home" -H "Authorization: Bearer $TOKEN" | json '[0]["content"]')"
stop; sed 's/^/   log: /' "$WORK/server.log" | grep -i timelines
fresh_case; out=$(ROOST_PHYSICAL_SHARDS=8 timeout 60 "$ROOST" up --port "$PORT" --data-dir "$WORK/case" 2>&1)
printf '%-16s exit %s: %s\n' "8 shards" "$?" "$out"
fresh_case; rm "$WORK/case/shards/$ALICE_SHARD"
echo "-- roost doctor on the data directory with the deleted shard:"
"$ROOST" doctor --data-dir "$WORK/case" | grep -E "FAIL|failed"; echo "doctor exit ${PIPESTATUS[0]}"

echo "== a full disk under a running server (8 MiB tmpfs, min_free_disk_bytes 1 MiB)"
mkdir -p "$WORK/disk"
if ! mount -t tmpfs -o size=8m tmpfs "$WORK/disk" 2>/dev/null; then
    echo "cannot mount a tmpfs here (not root?): skipped"; exit 0
fi
trap 'stop; umount -l "$WORK/disk"' EXIT
export ROOST_MIN_FREE_DISK_BYTES=1048576
start "$WORK/disk/data" || exit 1
TOKEN=$(register bob)
dd if=/dev/zero of="$WORK/disk/filler" bs=64k 2>/dev/null
echo "df: $(df -h --output=avail "$WORK/disk" | tail -1) available"
echo "GET /ready -> $(curl -s -o "$WORK/ready.json" -w '%{http_code}' "$BASE/ready")"
python3 -c "import json; c=json.load(open('$WORK/ready.json'))['checks']; print('  ', {k: v for k, v in c.items() if v != 'ok'})"
for i in $(seq 1 300); do
    code=$(curl -s -o "$WORK/post.json" -w '%{http_code}' -X POST "$BASE/api/v1/statuses" \
           -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: full-$i" -d "status=$(printf 'x%.0s' $(seq 1 400))")
    [ "$code" = 200 ] || break
done
echo "POST /api/v1/statuses #$i -> $code $(cat "$WORK/post.json")"
echo "statuses stored for bob: $(curl -s "$BASE/api/v1/accounts/verify_credentials" -H "Authorization: Bearer $TOKEN" | json '["statuses_count"]') (accepted: $((i - 1)))"
rm "$WORK/disk/filler"
sleep 1.1  # /ready reuses its result for ready_cache_seconds
echo "space freed: GET /ready -> $(curl -s -o /dev/null -w '%{http_code}' "$BASE/ready")"
echo "retry with the same Idempotency-Key -> $(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/statuses" \
     -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: full-$i" -d "status=after")"
echo "statuses stored for bob: $(curl -s "$BASE/api/v1/accounts/verify_credentials" -H "Authorization: Bearer $TOKEN" | json '["statuses_count"]')"
echo "-- server log (storage lines):"
grep -E "storage|Traceback|refus" "$WORK/server.log" | sort | uniq -c
