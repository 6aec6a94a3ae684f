#!/usr/bin/env bash
# What publishing metrics to CloudWatch costs `klaxon serve`: the ingest load of bench/ingest.sh (unique
# webhook alerts, 32 connections, wrk) against Klaxon on SQLite with publishing off and on (moto standing in
# for CloudWatch, every second: 60 times the default rate), alternating off/on/off/on in ONE run. Prints, for
# each run, requests/s, CPU seconds of the klaxon process per 1,000 requests, and its peak RSS, then the
# on/off ratios. Not a test: run it by hand on an otherwise idle machine.
#   bench/metrics_cost.sh              # 10 s per run
#   DURATION=20 INTERVAL=60s bench/metrics_cost.sh
#   BENCH_JSON=FILE bench/metrics_cost.sh   # also append the on/off figures as JSON lines to FILE (scripts/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${DURATION:-10}
interval=${INTERVAL:-1s}
conns=${CONNECTIONS:-32}

command -v wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
moto="${KLAXON_TEST_MOTO_SERVER:-$root/.venv/bin/moto_server}"
if [ ! -x "$moto" ]; then
  python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.5"
  moto="$root/.venv/bin/moto_server"
fi
[ "${SKIP_BUILD:-}" = "" ] && cargo build --release -q -p klaxon --bin klaxon
bin="$root/target/release/klaxon"
work=$(mktemp -d /tmp/klaxon-metrics-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

moto_port=$(free_port)
"$moto" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 & pids+=($!)
wait_port "$moto_port"

cat > "$work/unique.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args) n = 0 end
function request()
  n = n + 1
  local body = string.format('{"title":"bench alert t%d-%d","key":"k-%d-%d","severity":"error"}', tid, n, tid, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA

# cpu_ticks PID -> user+system clock ticks so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME PUBLISH(0|1) -> "NAME rps cpu_s_per_1000 peak_rss_mb"
measure() {
  local name=$1 publish=$2 port db token team url pid
  port=$(free_port)
  db="sqlite://$work/$name.db"
  local env=(KLAXON_DATABASE_URL="$db" KLAXON_LISTEN="127.0.0.1:$port" KLAXON_INGEST_RATE=1000000
    KLAXON_INGEST_BURST=1000000 KLAXON_LOG=warn KLAXON_METRICS_INTERVAL="$interval"
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=eu-west-1
    AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_EC2_METADATA_DISABLED=true)
  [ "$publish" = 1 ] && env+=(KLAXON_CLOUDWATCH_NAMESPACE=KlaxonBench)
  env "${env[@]}" "$bin" serve >"$work/$name.log" 2>&1 & pid=$!; pids+=($pid)
  wait_port "$port"
  token=$(KLAXON_DATABASE_URL=$db KLAXON_LOG=warn "$bin" account create --name bench)
  team=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/teams" \
    -d '{"name":"bench","slack_channel":"C0123ABCDE"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  url=$(curl -sf -H "Authorization: Bearer $token" -X POST "http://127.0.0.1:$port/v1/endpoints" \
    -d "{\"team_id\":\"$team\",\"name\":\"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  wrk -t2 -c"$conns" -d2s -s "$work/unique.lua" "$url" >/dev/null 2>&1 || true
  local before after out rps requests
  before=$(cpu_ticks "$pid")
  out=$(wrk -t2 -c"$conns" -d"${duration}s" -s "$work/unique.lua" "$url" 2>&1)
  after=$(cpu_ticks "$pid")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  local hwm
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  if [ "$publish" = 1 ] && grep -q "Could not publish metrics" "$work/$name.log"; then
    echo "$name: CloudWatch (moto) refused metrics during the run" >&2
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import os; t=os.sysconf('SC_CLK_TCK'); print('$name', $rps, round(($after-$before)/t/$requests*1000, 4), round($hwm/1024, 1))"
}

results=()
for round in 1 2; do
  results+=("$(measure off$round 0)")
  results+=("$(measure on$round 1)")
done
BENCH_JSON=${BENCH_JSON:-} INTERVAL=$interval python3 - "${results[@]}" <<'PY'
import json, os, sys
rows = [a.split() for a in sys.argv[1:]]
print(f"{'run':<8}{'req/s':>10}{'CPU s / 1k req':>16}{'peak RSS MB':>14}")
for name, rps, cpu, rss in rows:
    print(f"{name:<8}{float(rps):>10.0f}{float(cpu):>16.4f}{float(rss):>14.1f}")
def mean(prefix, i):
    v = [float(r[i]) for r in rows if r[0].startswith(prefix)]
    return sum(v) / len(v)
for label, i in [("req/s", 1), ("CPU per request", 2), ("peak RSS", 3)]:
    print(f"on/off {label}: {mean('on', i) / mean('off', i):.3f}")
path = os.environ.get("BENCH_JSON")
if path:
    every = os.environ["INTERVAL"]
    with open(path, "a", encoding="utf-8") as out:
        for figure, i, unit in [("CPU per 1,000 requests", 2, "CPU s"), ("ingest requests/s", 1, "req/s"), ("peak RSS", 3, "MB")]:
            out.write(json.dumps(dict(figure=f"metrics to CloudWatch (moto) every {every}: {figure}, SQLite",
                                      klaxon=mean("on", i), reference=mean("off", i),
                                      reference_name="the same with publishing off", unit=unit, target="")) + "\n")
PY
