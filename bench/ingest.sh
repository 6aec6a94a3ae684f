#!/usr/bin/env bash
# Webhook ingest throughput, durable, one new alert per request, 32 connections (wrk), measured in ONE run
# against references on this machine:
#   - the loopback ceiling: a trivial HTTP server answering 200 (backend/server/examples/ceiling.rs);
#   - Prometheus Alertmanager (Debian's prometheus-alertmanager), POST /api/v2/alerts, unique alerts;
#   - the durable floor of each store: a server that only commits each body as one row before answering,
#     with group commit (backend/server/examples/durable_floor.rs): the most any ingest that answers after a
#     durable commit can do on this machine and store;
# and Klaxon on SQLite and on PostgreSQL. Prints alerts/s of each and the ratios (targets: >= 0.5 of the
# ceiling, >= 2x Alertmanager). Not a test: run it by hand on an otherwise idle machine.
#   bench/ingest.sh                  # 10 s per target
#   DURATION=5 bench/ingest.sh       # shorter
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${DURATION:-10}
conns=${CONNECTIONS:-32}
threads=${THREADS:-2}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need prometheus-alertmanager; then
  echo "installing wrk and prometheus-alertmanager (Debian packages)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk prometheus-alertmanager >/dev/null
fi
if [ "${SKIP_BUILD:-}" = "" ]; then
  cargo build --release -q -p klaxon --bin klaxon --example ceiling --example durable_floor
fi
bin="$root/target/release"
work=$(mktemp -d /tmp/klaxon-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/pg" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
# Stops the last server started: an idle reference left running still spends CPU (Alertmanager keeps every
# alert it received in memory and maintains it) while the next target is measured.
stop_last() { local p=${pids[-1]}; kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

# One unique alert per request: the thread id and a per-thread counter make every title and key new.
cat > "$work/unique.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) n = 0 end
function request()
  n = n + 1
  local body
  if mode == "alertmanager" then
    body = string.format('[{"labels":{"alertname":"bench","instance":"t%d-%d","severity":"critical"},"annotations":{"summary":"bench alert"}}]', tid, n)
  else
    body = string.format('{"title":"bench alert t%d-%d","key":"k-%d-%d","severity":"error","text":"from wrk"}', tid, n, tid, n)
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("non2xx=%d\n", summary.errors.status))
end
LUA

# run NAME URL MODE -> prints "NAME rps"
run() {
  local name=$1 url=$2 mode=$3
  sed "1i mode = \"$mode\"" "$work/unique.lua" > "$work/$name.lua"
  # Warm-up, then the measured run.
  wrk -t"$threads" -c"$conns" -d2s -s "$work/$name.lua" "$url" >/dev/null 2>&1 || true
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" -s "$work/$name.lua" "$url" 2>&1)
  local rps non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  non2xx=$(awk -F= '/^non2xx=/ {print $2}' <<<"$out")
  if [ "${non2xx:-0}" != "0" ]; then
    echo "$name: $non2xx responses were not 2xx; its figure counts only what was accepted" >&2
    local total
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(python3 -c "print(round(($total - $non2xx) / $duration, 2))")
  fi
  echo "$name $rps"
}

results=()

# 1. The ceiling.
port=$(free_port)
"$bin/examples/ceiling" "127.0.0.1:$port" >/dev/null & pids+=($!)
wait_port "$port"
results+=("$(run ceiling "http://127.0.0.1:$port/ingest/x" webhook)")
stop_last

# 2. Alertmanager.
port=$(free_port)
cat > "$work/am.yml" <<'YML'
route:
  receiver: none
receivers:
  - name: none
YML
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$port" --cluster.listen-address="" >"$work/am.log" 2>&1 & pids+=($!)
wait_port "$port"
results+=("$(run alertmanager "http://127.0.0.1:$port/api/v2/alerts" alertmanager)")
stop_last

# 3. The durable floor and Klaxon, on each store.
floor_run() {
  local name=$1 db=$2 port
  port=$(free_port)
  "$bin/examples/durable_floor" "127.0.0.1:$port" "$db" >"$work/$name.log" 2>&1 & pids+=($!)
  wait_port "$port"
  results+=("$(run "$name" "http://127.0.0.1:$port/ingest/x" webhook)")
  stop_last
}
klaxon_run() {
  local name=$1 db=$2 port token team url
  port=$(free_port)
  KLAXON_DATABASE_URL=$db KLAXON_LISTEN="127.0.0.1:$port" KLAXON_INGEST_RATE=1000000 KLAXON_INGEST_BURST=1000000 \
    KLAXON_LOG=warn "$bin/klaxon" serve >"$work/$name.log" 2>&1 & pids+=($!)
  wait_port "$port"
  token=$(KLAXON_DATABASE_URL=$db KLAXON_LOG=warn "$bin/klaxon" account create --name bench)
  team=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/teams" \
    -d '{"name":"bench","slack_channel":"C0123ABCDE"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  url=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/endpoints" \
    -d "{\"team_id\":\"$team\",\"name\":\"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  results+=("$(run "$name" "$url" webhook)")
  # Every accepted request must be a stored alert: count them through the API.
  local stored
  stored=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk '/^klaxon_events_stored_total/ {print $2}')
  echo "$name: $stored events stored (warm-up included)" >&2
  stop_last
}
floor_run floor-sqlite "sqlite://$work/floor.db"
klaxon_run klaxon-sqlite "sqlite://$work/bench.db"
# The benchmark's PostgreSQL keeps fsync on (scripts/pg turns it off for tests): durable means durable.
pg=$(PG_DURABLE=1 "$root/scripts/pg" start "$work/pg")
[ "$(psql "$pg" -Atc 'SHOW fsync')" = on ] || { echo "the benchmark's PostgreSQL must run with fsync on" >&2; exit 1; }
psql "$pg" -qc "CREATE DATABASE bench;" -qc "CREATE DATABASE floor;" >/dev/null
floor_run floor-postgres "${pg%/postgres}/floor"
klaxon_run klaxon-postgres "${pg%/postgres}/bench"

python3 - "${results[@]}" <<'PY'
import sys
r = dict((a.split()[0], float(a.split()[1])) for a in sys.argv[1:])
ceil, am = r["ceiling"], r["alertmanager"]
print(f"{'target':<18}{'alerts/s':>12}{'x ceiling':>12}{'x alertmanager':>16}{'x floor':>10}")
for name in ["ceiling", "alertmanager", "floor-sqlite", "klaxon-sqlite", "floor-postgres", "klaxon-postgres"]:
    v = r[name]
    floor = r.get("floor-" + name.split("-")[1]) if name.startswith("klaxon-") else None
    shown = f"{v / floor:>10.2f}" if floor else f"{'':>10}"
    print(f"{name:<18}{v:>12.0f}{v / ceil:>12.2f}{v / am:>16.2f}{shown}")
print("targets: klaxon >= 0.50 x ceiling and >= 2.00 x alertmanager, on each store")
print("x floor: klaxon against the cheapest durable write on the same store (one row per request, group commit)")
PY
