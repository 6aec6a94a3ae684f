#!/usr/bin/env bash
# Slack benchmarks, measured in ONE run (tests/examples/slack_bench.rs): a release `klaxon serve` against the
# tests' fake Slack, on SQLite and on a durable PostgreSQL, and Prometheus Alertmanager's Slack receiver
# against the same fake:
#   - button answer latency, p50/p99, signed presses at 1,000/s for 5 s (target: p99 under 10 ms);
#   - grouped storm: 10,000 events of 50 alarms into one channel within 10 s (target: at most 50 posts,
#     updates coalesced, no 429 left unhandled, every event counted);
#   - unique storm: 2,000 distinct alerts into one channel within 10 s (target: every alert visible within
#     60 s, Slack's pace kept, nothing lost).
# Not a test: run it by hand on an otherwise idle machine.
#   bench/slack.sh            # full scale
#   SMALL=1 bench/slack.sh    # a tenth of it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
need() { command -v "$1" >/dev/null 2>&1; }
if ! need prometheus-alertmanager; then
  echo "installing prometheus-alertmanager (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus-alertmanager >/dev/null
fi
if [ "${SKIP_BUILD:-}" = "" ]; then
  cargo build --release -q -p klaxon --bin klaxon
  cargo build --release -q -p klaxon-tests --example slack_bench
fi
work=$(mktemp -d /tmp/klaxon-slack-bench.XXXXXX)
chmod 755 "$work"
cleanup() {
  "$root/scripts/pg" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
pg=$(PG_DURABLE=1 "$root/scripts/pg" start "$work/pg")
args=("$root/target/release/klaxon" --postgres "$pg" --alertmanager "$(command -v prometheus-alertmanager)")
[ "${SMALL:-}" = "" ] || args+=(--small)
"$root/target/release/examples/slack_bench" "${args[@]}"
