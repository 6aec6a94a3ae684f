#!/usr/bin/env python3
"""Appends one benchmark figure as a JSON line to a file, for scripts/bench to aggregate.

    bench/emit.py FILE figure="ingest, unique alerts, SQLite" klaxon=9491 reference=26616 \
        reference_name="durable floor, SQLite" unit=alerts/s target="ratio >= 0.5" [ratio=0.36] [note=...]

klaxon, reference and ratio are numbers (empty or "null" for none); when ratio is not given at all,
scripts/bench computes klaxon / reference (ratio= says the figure has none). target is "" (none) or "<ratio|klaxon> <op> <number>", op one of < <= > >= ==:
the condition that must hold for the target to be met. Does nothing when FILE is empty, so a script can call
it unconditionally with "${BENCH_JSON:-}".
"""

import json
import sys

NUMBERS = ("klaxon", "reference", "ratio")


def main() -> None:
    path, pairs = sys.argv[1], sys.argv[2:]
    if not path:
        return
    row = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in NUMBERS:
            row[key] = None if value in ("", "null", "nan", "NaN") else float(value)
        else:
            row[key] = value
    for required in ("figure", "klaxon", "unit"):
        if required not in row:
            sys.exit(f"bench/emit.py: {required}= is required")
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
