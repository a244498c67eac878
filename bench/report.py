#!/usr/bin/env python3
"""Turns bench/run's results.jsonl into bench/RESULTS.md (standard library only)."""

import argparse
import json
import os
import re
import statistics
from collections import OrderedDict

TAXIIDS = ["taxiid-sqlite", "taxiid-memory"]


def metric(scenario, result):
    """(value, unit, higher_is_better) of one result."""
    if scenario.startswith(("discovery", "page")):
        return result.get("rps"), "req/s", True
    if scenario == "walk":
        return result.get("seconds"), "s", False
    if scenario.startswith("ingest"):
        return result.get("objects_per_s"), "obj/s", True
    if scenario in ("rss", "peak rss"):
        return result.get("rss_mb"), "MB", False
    if scenario == "start":
        return result.get("seconds"), "s", False
    return None, "", True


def failure(result):
    if result.get("ok"):
        return None
    if result.get("timed_out") or set(result.get("status", {})) == {"timeout"}:
        return "timed out"
    err = str(result.get("error", "failed"))
    err = re.sub(r"(GET|POST) https?://\S+?: ", r"\1: ", err)
    err = re.sub(r" \(https?://[^)]*\)", "", err)
    if err.endswith(": timed out"):
        return "timed out (" + err[: -len(": timed out")] + ")"
    if result.get("status"):
        err = "errors " + ", ".join(f"{k}×{v}" for k, v in result["status"].items())
    return "FAILED: " + err.replace("|", "/")[:120]


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def main():
    ap = argparse.ArgumentParser()
    for a in ("results", "out", "command", "date", "size", "peers", "repeats"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()

    rows = OrderedDict()
    targets = []
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r["target"] not in targets:
                targets.append(r["target"])
            key = (r["size"], r["scenario"])
            rows.setdefault(key, {}).setdefault(r["target"], []).append(r["result"])
    peers = [t for t in targets if t not in TAXIIDS]

    def cell(scenario, results):
        """(text, median value or None)."""
        oks = [r for r in results if r.get("ok")]
        if not oks and scenario.startswith("ingest") and results[0].get("objects_per_s") is not None:
            r = results[0]
            return f"{fmt(r['objects_per_s'])} NOT verified ({failure(r)})", r["objects_per_s"]
        if not oks:
            return failure(results[0]) or "FAILED", None
        values = [metric(scenario, r)[0] for r in oks]
        values = [v for v in values if v is not None]
        if not values:
            return "—", None
        m = statistics.median(values)
        text = fmt(m)
        extra = oks[len(oks) // 2]
        if scenario.startswith(("discovery", "page")):
            text += f" (p50 {extra.get('p50_ms')} ms, p99 {extra.get('p99_ms')} ms)"
        if scenario.startswith("ingest") and extra.get("verified") is not None:
            text += " verified" if extra.get("verified") else " NOT verified"
        if len(oks) < len(results):
            text += f" ({len(results) - len(oks)} of {len(results)} runs failed)"
        return text, m

    cpu = os.cpu_count()
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    out = []
    out.append("# Benchmark results\n")
    out.append(f"- date: {args.date}")
    out.append(f"- command: `{args.command}`")
    out.append(f"- size: {args.size}; repeats: {args.repeats} (cells are medians; targets interleaved per scenario)")
    out.append(f"- machine: {cpu} cores ({model}), {mem} memory")
    out.append(f"- targets: {', '.join(targets)} (peers requested: {args.peers})")
    out.append("")
    out.append("Units: req/s and obj/s (higher is better), s and MB (lower is better). Load scenarios run")
    out.append("at a fixed concurrency (`@C`) for a fixed time; `page` is `GET …/objects/?limit=100`")
    out.append("plus the filter named. Ratio columns are taxiid/peer of the same unit (so > 1 is better")
    out.append("for req/s and obj/s, < 1 is better for s and MB). A peer that failed or timed out is")
    out.append("shown as such.\n")
    head = ["objects", "scenario", "unit"] + targets
    for t in TAXIIDS:
        if t in targets:
            for p in peers:
                head.append(f"{t}/{p}")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for (size, scenario), per_target in rows.items():
        unit = metric(scenario, {})[1]
        cells, values = [], {}
        for t in targets:
            if t in per_target:
                text, v = cell(scenario, per_target[t])
            else:
                text, v = "not run", None
            cells.append(text)
            values[t] = v
        ratios = []
        for t in TAXIIDS:
            if t in targets:
                for p in peers:
                    a, b = values.get(t), values.get(p)
                    if a is not None and b:
                        ratios.append(f"{a / b:.2f}×")
                    elif a is not None and p in per_target and values.get(p) is None:
                        ratios.append("peer failed")
                    else:
                        ratios.append("—")
        out.append("| " + " | ".join([f"{int(size):,}", scenario, unit] + cells + ratios) + " |")
    out.append("")
    out.append("`start` is the time from launch to the first answered discovery request, with the data")
    out.append("file loaded (taxiid SQLite: the store is seeded from the medallion data file on first start);")
    out.append("`rss` is VmRSS after the read scenarios; `peak rss` is VmHWM after the ingests.")
    out.append("Not measured yet: the mixed load (scenario 5), OpenTAXII, and the PostgreSQL store.")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
