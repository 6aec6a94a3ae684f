#!/usr/bin/env bash
# Benchmarks the Klaxon provider through the real terraform, against DESIGN.md's targets, in one run:
#   - `terraform apply` from empty and a no-op `terraform plan` of N klaxon_team vs N built-in terraform_data
#     (N = 10 and 300), paired runs (A then B, RUNS times), medians and the median of the per-pair ratios;
#   - the provider's spawn-to-handshake-line time with real mTLS (a P-521 CA:TRUE client certificate, as
#     terraform sends), HANDSHAKE_RUNS runs, median and p90;
#   - the provider's peak RSS during the N=300 apply (terraform runs a wrapper that runs the provider under
#     /usr/bin/time).
# Prints a markdown table. Not a test: run by hand, on an otherwise idle machine (see bench/README.md).
#
# Usage: bench/terraform.sh     (env: RUNS=5 HANDSHAKE_RUNS=30 SIZES="10 300" SKIP_BUILD=1 BIN_DIR=target/release)
#   BENCH_JSON=FILE: also append each figure as a JSON line to FILE (scripts/bench).
# Needs: cargo, terraform (1.5+), openssl, python3 (precise timing), curl, /usr/bin/time (GNU).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-5}"
HANDSHAKE_RUNS="${HANDSHAKE_RUNS:-30}"
SIZES="${SIZES:-10 300}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
# BIN_DIR: binaries to measure instead of target/release (with SKIP_BUILD=1, e.g. a quick smoke run on debug builds).
RELEASE="${BIN_DIR:-$TARGET_DIR/release}"
case "$RELEASE" in /*) ;; *) RELEASE="$ROOT/$RELEASE" ;; esac

log() { printf '%s\n' "$*" >&2; }
for tool in terraform openssl python3 curl /usr/bin/time; do
    command -v "$tool" >/dev/null || { log "bench: $tool is required"; exit 1; }
done

if [ -z "${SKIP_BUILD:-}" ]; then
    log "Building the provider and klaxon (release)..."
    (cd "$ROOT" && cargo build --release --quiet -p terraform-provider-klaxon -p klaxon)
fi
PROVIDER="$RELEASE/terraform-provider-klaxon"
KLAXON="$RELEASE/klaxon"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/klaxon-bench.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- helpers -------------------------------------------------------------------------------------------------

# Wall seconds of a command (its output discarded), measured by python around the process for ms precision.
time_cmd() {
    python3 - "$@" <<'EOF'
import subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.monotonic() - t
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode(errors="replace"))
    sys.exit(f"bench: {' '.join(sys.argv[1:])} failed with {r.returncode}")
print(f"{dt:.4f}")
EOF
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
p90() { sort -g | awk '{a[NR]=$1} END {i=int(NR*0.9+0.999999); if (i<1) i=1; if (i>NR) i=NR; print a[i]}'; }

# --- klaxon serve on a free port with a throwaway SQLite database --------------------------------------------

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export KLAXON_DATABASE_URL="sqlite://$WORK/klaxon.db"
(cd "$WORK" && KLAXON_LISTEN="127.0.0.1:$PORT" exec "$KLAXON" serve >"$WORK/serve.log" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { log "bench: klaxon serve did not start:"; cat "$WORK/serve.log" >&2; exit 1; }
export KLAXON_ENDPOINT="http://127.0.0.1:$PORT"
KLAXON_TOKEN="$("$KLAXON" account create --name bench 2>/dev/null)"
export KLAXON_TOKEN

# --- terraform: dev_overrides to the release build; a second config to the RSS wrapper -----------------------

rc_for() {
    printf 'provider_installation {\n  dev_overrides {\n    "klaxon/klaxon" = "%s"\n  }\n  direct {}\n}\n' "$1"
}
rc_for "$RELEASE" >"$WORK/release.tfrc"
mkdir -p "$WORK/wrapper"
RSS_FILE="$WORK/provider-rss.txt"
cat >"$WORK/wrapper/terraform-provider-klaxon" <<EOF
#!/bin/sh
# terraform starts this instead of the provider: the real binary under GNU time, peak RSS (KiB) appended to a file.
exec /usr/bin/time -f %M -a -o "$RSS_FILE" "$PROVIDER" "\$@"
EOF
chmod +x "$WORK/wrapper/terraform-provider-klaxon"
rc_for "$WORK/wrapper" >"$WORK/wrapper.tfrc"

export TF_CLI_CONFIG_FILE="$WORK/release.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
unset TF_LOG TF_LOG_PATH

config_klaxon() {
    cat <<EOF
terraform {
  required_providers {
    klaxon = { source = "klaxon/klaxon" }
  }
}
provider "klaxon" {}
resource "klaxon_team" "t" {
  count         = $1
  name          = "bench-\${count.index}"
  slack_channel = "C0123ABCDE"
}
EOF
}
config_data() {
    cat <<EOF
resource "terraform_data" "t" {
  count = $1
  input = "bench-\${count.index}"
}
EOF
}

tf() { terraform -chdir="$1" "${@:2}"; }
APPLY=(apply -auto-approve -input=false -no-color)
PLAN=(plan -input=false -no-color)
# Back to empty: destroy (the teams' names are unique in the account), then no state at all.
reset_dir() {
    if [ -f "$1/terraform.tfstate" ]; then tf "$1" destroy -auto-approve -input=false -no-color >/dev/null; fi
    rm -f "$1"/terraform.tfstate "$1"/terraform.tfstate.backup
}

declare -A RESULT
for n in $SIZES; do
    a="$WORK/klaxon-$n" b="$WORK/data-$n"
    mkdir -p "$a" "$b"
    config_klaxon "$n" >"$a/main.tf"
    config_data "$n" >"$b/main.tf"
    # A warm-up pair, so the page cache and the server's database are not measured cold.
    tf "$a" "${APPLY[@]}" >/dev/null; tf "$b" "${APPLY[@]}" >/dev/null
    reset_dir "$a"; reset_dir "$b"
    : >"$WORK/apply-$n"
    for i in $(seq 1 "$RUNS"); do
        ta="$(time_cmd terraform -chdir="$a" "${APPLY[@]}")"
        tb="$(time_cmd terraform -chdir="$b" "${APPLY[@]}")"
        echo "$ta $tb" >>"$WORK/apply-$n"
        log "  N=$n apply run $i: klaxon_team ${ta}s, terraform_data ${tb}s"
        if [ "$i" -lt "$RUNS" ]; then reset_dir "$a"; reset_dir "$b"; fi
    done
    # Both applied now: plans against unchanged state, which must show no changes (exit code 0, not 2).
    for d in "$a" "$b"; do
        tf "$d" "${PLAN[@]}" -detailed-exitcode >/dev/null || { log "bench: the plan in $d is not empty"; exit 1; }
    done
    : >"$WORK/plan-$n"
    for i in $(seq 1 "$RUNS"); do
        ta="$(time_cmd terraform -chdir="$a" "${PLAN[@]}")"
        tb="$(time_cmd terraform -chdir="$b" "${PLAN[@]}")"
        echo "$ta $tb" >>"$WORK/plan-$n"
        log "  N=$n plan run $i: klaxon_team ${ta}s, terraform_data ${tb}s"
    done
    for op in apply plan; do
        f="$WORK/$op-$n"
        RESULT[$op-$n-a]="$(awk '{print $1}' "$f" | median)"
        RESULT[$op-$n-b]="$(awk '{print $2}' "$f" | median)"
        RESULT[$op-$n-r]="$(awk '{printf "%.4f\n", $1/$2}' "$f" | median)"
    done
    reset_dir "$a"; reset_dir "$b"
done

# --- peak RSS of the provider during an N=300 apply (through the wrapper) ------------------------------------

RSS_N=300
r="$WORK/rss"
mkdir -p "$r"
config_klaxon "$RSS_N" >"$r/main.tf"
: >"$RSS_FILE"
TF_CLI_CONFIG_FILE="$WORK/wrapper.tfrc" tf "$r" "${APPLY[@]}" >/dev/null
PROVIDER_PROCS="$(grep -c . "$RSS_FILE" || true)"
PEAK_RSS_KB="$(sort -n "$RSS_FILE" | tail -1)"
reset_dir "$r"

# --- spawn to handshake line with real mTLS -----------------------------------------------------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -days 1 \
    -keyout "$WORK/client.key" -out "$WORK/client.pem" -subj "/O=HashiCorp/CN=localhost" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -addext "extendedKeyUsage=clientAuth,serverAuth" -addext "subjectAltName=DNS:localhost" 2>/dev/null
HANDSHAKES="$(python3 - "$PROVIDER" "$WORK/client.pem" "$HANDSHAKE_RUNS" <<'EOF'
import os, subprocess, sys, time
provider, cert, runs = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
env = dict(os.environ,
           TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
           PLUGIN_PROTOCOL_VERSIONS="6", PLUGIN_MIN_PORT="10000", PLUGIN_MAX_PORT="25000",
           PLUGIN_CLIENT_CERT=cert)
for _ in range(runs):
    t = time.monotonic()
    p = subprocess.Popen([provider], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    dt = time.monotonic() - t
    p.kill(); p.wait()
    fields = line.decode().strip().split("|")
    if len(fields) < 6 or fields[1] != "6" or not fields[5]:
        sys.exit(f"bench: unexpected handshake line {line!r} (no server certificate means no mTLS)")
    print(f"{dt * 1000:.2f}")
EOF
)"
HS_MEDIAN="$(echo "$HANDSHAKES" | median)"
HS_P90="$(echo "$HANDSHAKES" | p90)"

# --- the table ----------------------------------------------------------------------------------------------

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "ok" : "MISSED" }'; }
TF_VERSION="$(terraform version | head -1)"
{
    echo
    echo "Klaxon provider vs terraform_data — $(date -u +%Y-%m-%d), $TF_VERSION, $(nproc) cores, medians of $RUNS paired runs"
    echo
    echo "| N | op | klaxon_team s | terraform_data s | ratio (median of pairs) | target | |"
    echo "|---|---|---|---|---|---|---|"
    for n in $SIZES; do
        for op in apply plan; do
            ratio="${RESULT[$op-$n-r]}"
            target="-"
            if [ "$n" -ge 300 ] && [ "$op" = apply ]; then target="1.0"; fi
            if [ "$n" -ge 300 ] && [ "$op" = plan ]; then target="1.3"; fi
            if [ "$n" -le 10 ] && [ "$op" = apply ]; then target="2.0"; fi
            if [ "$target" = "-" ]; then mark="(no target)"; else mark="$(verdict "$ratio" "$target")"; fi
            printf '| %s | %s | %.3f | %.3f | %.2fx | %s | %s |\n' "$n" "$op" "${RESULT[$op-$n-a]}" \
                "${RESULT[$op-$n-b]}" "$ratio" "$([ "$target" = - ] && echo - || echo "<= ${target}x")" "$mark"
        done
    done
    echo
    echo "| measure | value | reference / target | |"
    echo "|---|---|---|---|"
    printf '| spawn to handshake line, mTLS (P-521 client cert), %s runs | median %.2f ms, p90 %.2f ms | < 10 ms (aws-lc-rs reference 50 ms; ring without client auth 4 ms) | %s |\n' \
        "$HANDSHAKE_RUNS" "$HS_MEDIAN" "$HS_P90" "$(verdict "$HS_MEDIAN" 10)"
    printf '| provider peak RSS during the N=%s apply | %.1f MiB (max of %s provider processes) | minimal Rust provider: 6.8-6.9 MB per process | |\n' \
        "$RSS_N" "$(awk -v k="$PEAK_RSS_KB" 'BEGIN { print k / 1024 }')" "$PROVIDER_PROCS"
}

# --- the same figures as JSON lines, for scripts/bench --------------------------------------------------------

if [ -n "${BENCH_JSON:-}" ]; then
    emit() { python3 "$ROOT/bench/emit.py" "$BENCH_JSON" "$@"; }
    note="medians of $RUNS paired runs; the ratio is the median of the per-pair ratios (every terraform row)"
    for n in $SIZES; do
        for op in apply plan; do
            target=""
            if [ "$n" -ge 300 ] && [ "$op" = apply ]; then target="ratio <= 1.0"; fi
            if [ "$n" -ge 300 ] && [ "$op" = plan ]; then target="ratio <= 1.3"; fi
            if [ "$n" -le 10 ] && [ "$op" = apply ]; then target="ratio <= 2.0"; fi
            what="apply from empty"; [ "$op" = plan ] && what="no-op plan"
            emit figure="terraform $what, $n resources" klaxon="${RESULT[$op-$n-a]}" reference="${RESULT[$op-$n-b]}" \
                ratio="${RESULT[$op-$n-r]}" reference_name="terraform_data (built in, no provider)" unit=s \
                target="$target" note="$note"
            note=""
        done
    done
    emit figure="provider spawn to handshake line, mTLS" klaxon="$HS_MEDIAN" reference= \
        reference_name="" unit=ms target="klaxon < 10" note="median of $HANDSHAKE_RUNS spawns, p90 $HS_P90 ms"
    emit figure="provider peak RSS during a $RSS_N-resource apply" \
        klaxon="$(awk -v k="$PEAK_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')" reference= reference_name="" unit=MB \
        target="" note="max of $PROVIDER_PROCS provider processes"
fi
