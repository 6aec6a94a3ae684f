#!/usr/bin/env python3
"""scripts/bench's report: one table of every benchmark's figures, written as JSON beside the previous run.

    bench/report.py FIGURES.jsonl OUT_DIR RUN.json

FIGURES.jsonl holds the lines the benchmarks appended (bench/emit.py's format). RUN.json says how the run went:
{"started": ..., "elapsed_s": ..., "settings": {...}, "steps": [{"name", "rc", "seconds", "log", "busy"}], ...}.
Moves OUT_DIR/latest.json to OUT_DIR/previous.json, writes the new OUT_DIR/latest.json and OUT_DIR/latest.md,
and prints the markdown table with each ratio's change against the previous run (or, for a figure without a
reference, the change of Klaxon's figure in percent), so that a regression shows.
"""

import json
import math
import operator
import os
import sys

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def number(v):
    """A number as a person reads it: thousands separated, fewer decimals the larger it is."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    if a >= 100 or v == int(v):
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def parse_target(target):
    """'ratio >= 0.5' -> ('ratio', '>=', 0.5); '' -> None."""
    if not target:
        return None
    on, op, value = target.split()
    if on not in ("ratio", "klaxon") or op not in OPS:
        raise ValueError(f"unknown target {target!r}")
    return on, op, float(value)


def evaluate(row):
    """Fills in ratio (klaxon / reference, unless the row has a ratio, None for none) and met (None without a
    target)."""
    k, ref = row.get("klaxon"), row.get("reference")
    if "ratio" not in row and k is not None and ref:
        row["ratio"] = k / ref
    target = parse_target(row.get("target", ""))
    if target is None:
        row["met"] = None
        return row
    on, op, value = target
    v = row.get("ratio") if on == "ratio" else k
    # A figure that never came (an alert never visible, a step that failed) misses its target.
    row["met"] = v is not None and not (isinstance(v, float) and math.isnan(v)) and OPS[op](v, value)
    return row


def target_text(row):
    target = parse_target(row.get("target", ""))
    if target is None:
        return "-"
    on, op, value = target
    return f"{op} {number(value)}x" if on == "ratio" else f"{op} {number(value)} {row['unit']}"


def change(row, prev):
    """The change against the previous run's row of the same figure."""
    if prev is None:
        return "new"
    r, p = row.get("ratio"), prev.get("ratio")
    if r is not None and p is not None:
        return f"{r - p:+.2f}"
    k, pk = row.get("klaxon"), prev.get("klaxon")
    if k is not None and pk:
        return f"{(k - pk) / pk * 100:+.0f}%"
    return "-"


def table(rows, previous):
    by_name = {r["figure"]: r for r in previous}
    lines = [
        "| figure | Klaxon | reference, same run | ratio | target | met? | change vs previous |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("failed"):
            lines.append(f"| {r['figure']} | **failed** | | | | **no** | |")
            continue
        ref = r.get("reference")
        ref_cell = number(ref) if ref is not None else "-"
        if r.get("reference_name"):
            ref_cell = f"{ref_cell} ({r['reference_name']})" if ref is not None else r["reference_name"]
        met = {None: "", True: "yes", False: "**no**"}[r["met"]]
        klaxon = f"{number(r['klaxon'])} {r['unit']}" if r.get("klaxon") is not None else "-"
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "-"
        lines.append(
            f"| {r['figure']} | {klaxon} | {ref_cell} | {ratio} | {target_text(r)} "
            f"| {met} | {change(r, by_name.get(r['figure']))} |"
        )
    return "\n".join(lines)


def main():
    figures_path, out_dir, run_path = sys.argv[1:4]
    run = json.load(open(run_path, encoding="utf-8"))
    rows = []
    if os.path.exists(figures_path):
        for line in open(figures_path, encoding="utf-8"):
            if line.strip():
                rows.append(evaluate(json.loads(line)))
    for step in run["steps"]:
        if step["rc"] != 0:
            rows.append({"figure": f"{step['name']}: exited with {step['rc']}, see {step['log']}", "failed": True,
                         "unit": "", "met": False})
    latest, previous_path = os.path.join(out_dir, "latest.json"), os.path.join(out_dir, "previous.json")
    previous = []
    if os.path.exists(latest):
        os.replace(latest, previous_path)
    if os.path.exists(previous_path):
        previous = json.load(open(previous_path, encoding="utf-8")).get("figures", [])
    by_name = {r["figure"]: r for r in previous}
    for r in rows:
        p = by_name.get(r["figure"])
        r["previous_ratio"] = p.get("ratio") if p else None
        r["previous_klaxon"] = p.get("klaxon") if p else None
    run["figures"] = rows
    with open(latest, "w", encoding="utf-8") as out:
        json.dump(run, out, indent=1)
        out.write("\n")

    targeted = [r for r in rows if r["met"] is not None]
    missed = [r for r in targeted if not r["met"]]
    m = run["machine"]
    busy = max((s.get("busy", 0) for s in run["steps"]), default=0)
    text = [
        f"scripts/bench, {run['started']}, commit {run['commit']}; {m['cpu']}, {m['nproc']} cores, {m['memory']}; "
        f"{run['elapsed_s'] / 60:.1f} min",
        "",
        table(rows, previous),
        "",
        f"{len(targeted) - len(missed)} of {len(targeted)} targets met."
        + (f" Missed: {'; '.join(r['figure'] for r in missed)}." if missed else ""),
    ]
    if busy:
        text.append(f"Not an idle machine: up to {busy} other compiler or test processes ran during the run "
                    "(load averages per step in latest.json).")
    notes = [f"- {r['figure']}: {r['note']}" for r in rows if r.get("note")]
    if notes:
        text += ["", "Notes:", ""] + notes
    settings = ", ".join(f"{k}={v}" for k, v in run["settings"].items())
    text += ["", f"Settings: {settings}.", f"Change: the ratio's difference against {previous_path} "
             "(for a figure without a reference, Klaxon's figure in percent); 'new' when the previous run had "
             "no such figure."]
    report = "\n".join(text)
    with open(os.path.join(out_dir, "latest.md"), "w", encoding="utf-8") as out:
        out.write(report + "\n")
    print(report)
    return 1 if any(r.get("failed") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
