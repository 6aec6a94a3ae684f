#!/usr/bin/env bash
# What a heartbeat ping costs (tests/examples/heartbeat_bench.rs): a release `klaxon serve` on SQLite and on a
# durable PostgreSQL, 2,000 heartbeats each pinged by 8 concurrent callers, alternating with as many
# `GET /healthz` (the reference, same run) in three rounds. Prints pings/s against /healthz/s, p50/p99 of
# both, and the jobs written per ping (must be 0: the benchmark fails otherwise). No target for the rates.
# Not a test: run it by hand on an otherwise idle machine.
#   bench/heartbeats.sh                       # 2,000 heartbeats
#   HEARTBEATS=10000 bench/heartbeats.sh
#   BENCH_JSON=FILE bench/heartbeats.sh       # also append the figures as JSON lines to FILE (scripts/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "${SKIP_BUILD:-}" = "" ]; then
  cargo build --release -q -p klaxon --bin klaxon
  cargo build --release -q -p klaxon-tests --example heartbeat_bench
fi
work=$(mktemp -d /tmp/klaxon-heartbeat-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
  "$root/scripts/pg" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
pg=$(PG_DURABLE=1 "$root/scripts/pg" start "$work/pg")
"$root/target/release/examples/heartbeat_bench" "$root/target/release/klaxon" --postgres "$pg" \
  --heartbeats "${HEARTBEATS:-2000}" | tee "$work/out.txt"
[ "${BENCH_JSON:-}" = "" ] && exit 0
# heartbeat_bench ends with one JSON line per store.
python3 - "$work/out.txt" "$BENCH_JSON" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
out = []
for r in rows:
    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[r["store"]]
    out.append(dict(figure=f"heartbeat pings ({r['heartbeats']:,} heartbeats, {r['callers']} callers), {label}",
                    klaxon=r["pings_per_sec"], reference=r["healthz_per_sec"], reference_name="GET /healthz",
                    unit="pings/s", target="",
                    note=f"p50/p99 {r['ping_p50_ms']:.2f}/{r['ping_p99_ms']:.2f} ms vs /healthz "
                         f"{r['healthz_p50_ms']:.2f}/{r['healthz_p99_ms']:.2f} ms"))
    out.append(dict(figure=f"heartbeat pings: jobs written per ping, {label}", klaxon=r["jobs_per_ping"],
                    reference=None, reference_name="", unit="jobs", target="klaxon == 0", ratio=None))
with open(sys.argv[2], "a", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
PY
