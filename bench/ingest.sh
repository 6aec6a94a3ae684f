#!/usr/bin/env bash
# Webhook ingest throughput, durable, 32 connections (wrk), two loads: one new alert per request (unique), and a
# repeat-heavy mix (cycles of 10,000 events over 500 keys: each key opens an alert and repeats 19 times),
# measured in ONE run against references on this machine:
#   - the loopback ceiling: a trivial HTTP server answering 200 (backend/server/examples/ceiling.rs);
#   - Prometheus Alertmanager (Debian's prometheus-alertmanager), POST /api/v2/alerts, unique alerts;
#   - the durable floor of each store: a server that only commits each body as one row before answering,
#     with group commit (backend/server/examples/durable_floor.rs): the most any ingest that answers after a
#     durable commit can do on this machine and store;
# and Klaxon on SQLite and on PostgreSQL, with the RSS of `klaxon serve` idle and after the load. Prints alerts/s
# of each and the ratios (target: >= 0.5x the durable floor of the same store, on each store and load; the
# ceiling and Alertmanager are context). Not a test: run it by hand on an otherwise idle machine.
#   bench/ingest.sh                  # 10 s per target
#   DURATION=5 bench/ingest.sh       # shorter
#   REPEAT_EVENTS=10000 REPEAT_KEYS=500   # the repeat mix's cycle (the defaults)
#   BENCH_JSON=FILE bench/ingest.sh  # also append each figure as a JSON line to FILE (scripts/bench)
# Without Alertmanager (not installed and no package to install) its rows are left out, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${DURATION:-10}
conns=${CONNECTIONS:-32}
threads=${THREADS:-2}
repeat_events=${REPEAT_EVENTS:-10000}
repeat_keys=${REPEAT_KEYS:-500}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk; then
  echo "installing wrk (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
fi
if ! need prometheus-alertmanager; then
  echo "installing prometheus-alertmanager (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus-alertmanager >/dev/null 2>&1 \
    || echo "prometheus-alertmanager could not be installed: its rows are left out" >&2
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

# One unique alert per request: the phase (warm-up or measured: each wrk run counts from 0 again), the thread
# id and a per-thread counter make every title and key new.
cat > "$work/unique.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) n = 0 end
function request()
  n = n + 1
  local body
  if mode == "alertmanager" then
    body = string.format('[{"labels":{"alertname":"bench","instance":"%s%d-%d","severity":"critical"},"annotations":{"summary":"bench alert"}}]', phase, tid, n)
  elseif mode == "repeat" then
    -- Each thread's share of a cycle: its events over its keys, round robin, so every key opens an alert and
    -- repeats while it is open; the next cycle uses new keys, so the mix stays the same however long the run.
    local events, keys = math.floor(repeat_events / nthreads), math.floor(repeat_keys / nthreads)
    local i = n - 1
    local key = string.format("r%s-%d-%d-%d", phase, tid, math.floor(i / events), i % keys)
    body = string.format('{"title":"bench alert %s","key":"%s","severity":"error","text":"from wrk"}', key, key)
  else
    body = string.format('{"title":"bench alert %s%d-%d","key":"k-%s%d-%d","severity":"error","text":"from wrk"}', phase, tid, n, phase, tid, n)
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
  local vars="mode = \"$mode\"; nthreads = $threads; repeat_events = $repeat_events; repeat_keys = $repeat_keys"
  echo "$vars; phase = \"w\"" | cat - "$work/unique.lua" > "$work/$name-warm.lua"
  echo "$vars; phase = \"m\"" | cat - "$work/unique.lua" > "$work/$name.lua"
  # Warm-up, then the measured run.
  wrk -t"$threads" -c"$conns" -d2s -s "$work/$name-warm.lua" "$url" >/dev/null 2>&1 || true
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
# mb PID FIELD -> the process's VmRSS (now) or VmHWM (peak so far) in MB
mb() { awk -v f="$2:" '$1 == f {printf "%.1f\n", $2 / 1024}' "/proc/$1/status"; }

# 1. The ceiling.
port=$(free_port)
"$bin/examples/ceiling" "127.0.0.1:$port" >/dev/null & pids+=($!)
wait_port "$port"
results+=("$(run ceiling "http://127.0.0.1:$port/ingest/x" webhook)")
stop_last

# 2. Alertmanager, when there is one.
if need prometheus-alertmanager; then
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
  sleep 1
  results+=("rss-idle-alertmanager $(mb "${pids[-1]}" VmRSS)")
  results+=("$(run alertmanager "http://127.0.0.1:$port/api/v2/alerts" alertmanager)")
  results+=("rss-peak-alertmanager $(mb "${pids[-1]}" VmHWM)")
  stop_last
fi

# 3. The durable floor and Klaxon, on each store, each load on a fresh database.
floor_run() {
  local name=$1 db=$2 mode=$3 port
  port=$(free_port)
  "$bin/examples/durable_floor" "127.0.0.1:$port" "$db" >"$work/$name.log" 2>&1 & pids+=($!)
  wait_port "$port"
  results+=("$(run "$name" "http://127.0.0.1:$port/ingest/x" "$mode")")
  stop_last
}
klaxon_run() {
  local name=$1 db=$2 mode=$3 port token team url pid
  port=$(free_port)
  KLAXON_DATABASE_URL=$db KLAXON_LISTEN="127.0.0.1:$port" KLAXON_INGEST_RATE=1000000 KLAXON_INGEST_BURST=1000000 \
    KLAXON_LOG=warn "$bin/klaxon" serve >"$work/$name.log" 2>&1 & pids+=($!)
  pid=${pids[-1]}
  wait_port "$port"
  token=$(KLAXON_DATABASE_URL=$db KLAXON_LOG=warn "$bin/klaxon" account create --name bench)
  team=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/teams" \
    -d '{"name":"bench","slack_channel":"C0123ABCDE"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  url=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/endpoints" \
    -d "{\"team_id\":\"$team\",\"name\":\"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  # Idle: started, one account, team and endpoint, nothing received yet.
  sleep 1
  results+=("rss-idle-$name $(mb "$pid" VmRSS)")
  results+=("$(run "$name" "$url" "$mode")")
  results+=("rss-peak-$name $(mb "$pid" VmHWM)")
  # Every accepted request must be a stored event: count them through the API.
  local stored
  stored=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | awk '/^klaxon_events_stored_total/ {print $2}')
  echo "$name: $stored events stored (warm-up included)" >&2
  stop_last
}
floor_run floor-sqlite "sqlite://$work/floor.db" webhook
klaxon_run klaxon-sqlite "sqlite://$work/bench.db" webhook
floor_run floor-sqlite-repeat "sqlite://$work/floor-repeat.db" repeat
klaxon_run klaxon-sqlite-repeat "sqlite://$work/bench-repeat.db" repeat
# The benchmark's PostgreSQL keeps fsync on (scripts/pg turns it off for tests): durable means durable.
pg=$(PG_DURABLE=1 "$root/scripts/pg" start "$work/pg")
[ "$(psql "$pg" -Atc 'SHOW fsync')" = on ] || { echo "the benchmark's PostgreSQL must run with fsync on" >&2; exit 1; }
for d in bench floor bench_repeat floor_repeat; do psql "$pg" -qc "CREATE DATABASE $d;" >/dev/null; done
floor_run floor-postgres "${pg%/postgres}/floor" webhook
klaxon_run klaxon-postgres "${pg%/postgres}/bench" webhook
floor_run floor-postgres-repeat "${pg%/postgres}/floor_repeat" repeat
klaxon_run klaxon-postgres-repeat "${pg%/postgres}/bench_repeat" repeat

BENCH_JSON=${BENCH_JSON:-} REPEAT_EVENTS=$repeat_events REPEAT_KEYS=$repeat_keys python3 - "${results[@]}" <<'PY'
import json, os, sys
os.environ["REPEAT"] = f"{int(os.environ['REPEAT_EVENTS']):,} events over {int(os.environ['REPEAT_KEYS']):,} keys"
r = dict((a.split()[0], float(a.split()[1])) for a in sys.argv[1:])
ceil, am = r["ceiling"], r.get("alertmanager")
print(f"{'target':<24}{'alerts/s':>12}{'x ceiling':>12}{'x alertmanager':>16}{'x floor':>10}")
for name in ["ceiling", "alertmanager", "floor-sqlite", "klaxon-sqlite", "floor-sqlite-repeat", "klaxon-sqlite-repeat",
             "floor-postgres", "klaxon-postgres", "floor-postgres-repeat", "klaxon-postgres-repeat"]:
    if name not in r:
        print(f"{name:<24}{'unavailable':>12}")
        continue
    v = r[name]
    floor = r.get(name.replace("klaxon-", "floor-")) if name.startswith("klaxon-") else None
    shown = f"{v / floor:>10.2f}" if floor else f"{'':>10}"
    vs_am = f"{v / am:>16.2f}" if am else f"{'-':>16}"
    print(f"{name:<24}{v:>12.0f}{v / ceil:>12.2f}{vs_am}{shown}")
print(f"repeat: a repeat-heavy mix, cycles of {os.environ['REPEAT']} (each key opens an alert, then repeats)")
print("target: klaxon >= 0.50 x floor, on each store and load; the ceiling and Alertmanager are context")
print("x floor: klaxon against the cheapest durable write on the same store (one row per request, group commit)")
print(f"{'klaxon serve RSS MB':<24}{'idle':>12}{'peak':>12}")
for name in ["alertmanager", "klaxon-sqlite", "klaxon-postgres", "klaxon-sqlite-repeat", "klaxon-postgres-repeat"]:
    if "rss-idle-" + name in r:
        print(f"{name:<24}{r['rss-idle-' + name]:>12.1f}{r['rss-peak-' + name]:>12.1f}")

path = os.environ.get("BENCH_JSON")
if path:
    rows = []
    stores = [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]
    loads = [("", "unique alerts"), ("-repeat", f"repeat mix ({os.environ['REPEAT']})")]
    def row(**kw):
        rows.append(kw)
    for suffix, load in loads:
        for store, label in stores:
            row(figure=f"ingest, {load}, {label}", klaxon=r[f"klaxon-{store}{suffix}"], reference=r[f"floor-{store}{suffix}"],
                reference_name=f"durable floor, {label}", unit="alerts/s", target="ratio >= 0.5")
    for store, label in stores:
        v = r[f"klaxon-{store}"]
        row(figure=f"ingest, unique alerts, {label}, vs loopback ceiling", klaxon=v, reference=ceil,
            reference_name="loopback ceiling: bare HTTP 200", unit="alerts/s", target="")
        row(figure=f"ingest, unique alerts, {label}, vs Alertmanager", klaxon=v, reference=am,
            reference_name="Alertmanager, in memory" if am else "Alertmanager unavailable (not installed)",
            unit="alerts/s", target="")
    for store, label in stores:
        row(figure=f"klaxon serve RSS idle, {label}", klaxon=r[f"rss-idle-klaxon-{store}"],
            reference=r.get("rss-idle-alertmanager"), reference_name="Alertmanager idle", unit="MB",
            target="klaxon < 30")
        row(figure=f"klaxon serve peak RSS after unique ingest, {label}", klaxon=r[f"rss-peak-klaxon-{store}"],
            reference=r.get("rss-peak-alertmanager"), reference_name="Alertmanager after the same load", unit="MB",
            target="")
    with open(path, "a", encoding="utf-8") as out:
        for x in rows:
            out.write(json.dumps(x) + "\n")
PY
