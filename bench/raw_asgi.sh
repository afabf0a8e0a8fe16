# Sourced by the bench scripts (POSIX sh): serve bench/raw_asgi.py with uvicorn,
# exactly as roost is served (uvloop, httptools behind roost's connection guard),
# on port $PORT (RAW_ASGI_BODY, if exported, is the body it sends). Sets RAW_PID:
# the caller stops that PID and nothing else.
start_raw_asgi() {
    .venv/bin/uvicorn --loop uvloop --http roost.runtime.connections:GuardedHttpToolsProtocol \
        --no-access-log --no-server-header --log-level warning \
        --host 127.0.0.1 --port "$PORT" --app-dir bench raw_asgi:app \
        >/tmp/roost-raw-asgi.log 2>&1 &
    RAW_PID=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && return 0
        sleep 0.5
    done
}
