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
#   BENCH_JSON=FILE bench/slack.sh   # also append each figure as a JSON line to FILE (scripts/bench)
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
"$root/target/release/examples/slack_bench" "${args[@]}" | tee "$work/out.txt"
[ "${BENCH_JSON:-}" = "" ] && exit 0
# slack_bench ends with one JSON line per result: the figures, each next to Alertmanager's in the same run.
python3 - "$work/out.txt" "$BENCH_JSON" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
get = lambda system, scenario: next((r for r in rows if r["system"] == system and r["scenario"] == scenario), {})
out = []
for store, label in [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]:
    k = lambda scenario: get(f"klaxon-{store}", scenario)
    b, g, u = k("button answer"), k("grouped storm"), k("unique storm")
    ag, au = get("alertmanager", "grouped storm"), get("alertmanager", "unique storm")
    if b:
        out.append(dict(figure=f"Slack button answer p99, {label}", klaxon=b["p99_ms"], reference=None,
                        reference_name="Slack's deadline: 3,000 ms", unit="ms", target="klaxon < 10",
                        note=f"{b['presses']} presses at {b['rate_per_sec']}/s: p50 {b['p50_ms']:.1f} ms, max {b['max_ms']:.1f} ms, {b['failed']} failed"))
    if g:
        out.append(dict(figure=f"grouped storm ({g['events']:,} events, {g['alarms']} alarms): posts, {label}",
                        klaxon=g["posts"], reference=ag.get("posts"), reference_name="Alertmanager's Slack receiver",
                        unit="posts", target=f"klaxon <= {g['alarms']}",
                        note=f"{g['429s']} 429s from Slack, {g['thread_replies']} thread replies, {g['updates_all_channels']} updates; Alertmanager {ag.get('429s', '-')} 429s"))
        out.append(dict(figure=f"grouped storm: events or alarms lost, {label}", klaxon=g["lost"], reference=ag.get("lost"),
                        reference_name="Alertmanager: alarms never in Slack", unit="lost", target="klaxon == 0", ratio=None,
                        note=f"{g['counted']} of {g['accepted']} accepted events counted"))
    if u:
        am_never = au.get("lost")
        out.append(dict(figure=f"unique storm ({u['alerts']:,} alerts): all visible after, {label}", klaxon=u["visible_after_s"],
                        reference=au.get("visible_after_s"),
                        reference_name=f"Alertmanager: {am_never:,} of {u['alerts']:,} never reached Slack" if au else "Alertmanager",
                        unit="s", target="klaxon <= 60",
                        note=f"{u['posts']} posts, {u['429s']} 429s; Alertmanager {au.get('posts', '-')} posts, {au.get('429s', '-')} 429s"))
        out.append(dict(figure=f"unique storm: alerts lost, {label}", klaxon=u["lost"], reference=am_never,
                        reference_name="Alertmanager: alerts never in Slack", unit="lost", target="klaxon == 0", ratio=None))
        out.append(dict(figure=f"unique storm: posts closer than Slack's pace (1/s), {label}", klaxon=u["posts_over_pace"],
                        reference=None, reference_name="", unit="posts", target="klaxon == 0"))
with open(sys.argv[2], "a", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
PY
