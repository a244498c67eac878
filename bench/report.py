#!/usr/bin/env python3
"""Turns bench/run's results.jsonl into bench/RESULTS.md (standard library only)."""

import argparse
import json
import os
import re
import statistics
from collections import OrderedDict

TAXIIDS = ["taxiid-sqlite", "taxiid-postgres", "taxiid-memory"]


def metric(scenario, result):
    """(value, unit, higher_is_better) of one result."""
    if scenario.startswith(("discovery", "page")):
        return result.get("rps"), "req/s", True
    if scenario == "walk":
        return result.get("seconds"), "s", False
    if scenario.startswith("ingest"):
        return result.get("objects_per_s"), "obj/s", True
    if scenario.startswith("mixed"):
        return result.get("read_rps"), "read req/s; written obj/s", True
    if scenario in ("rss", "peak rss"):
        return result.get("rss_mb"), "MB", False
    if scenario in ("start", "seed"):
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

    bounds = set()  # (size, scenario, target) whose value is only an upper bound

    def cell(scenario, results, key=None):
        """(text, median value or None)."""
        oks = [r for r in results if r.get("ok")]
        if not oks and scenario.startswith("ingest") and results[0].get("objects_per_s") is not None:
            r = results[0]
            return f"{fmt(r['objects_per_s'])} NOT verified ({failure(r)})", r["objects_per_s"]
        if not oks and scenario.startswith("ingest") and results[0].get("objects_per_s_until_timeout") is not None:
            # A peer that could not finish: the rate it kept until the deadline, an upper bound
            # (servers that slow down as they fill only get slower after it).
            r = results[0]
            v = r["objects_per_s_until_timeout"]
            bounds.add(key)
            if "reading back" in str(r.get("error", "")):
                return f"≤ {fmt(v)}, NOT verified (reading the collection back timed out)", v
            return (f"timed out after {fmt(r.get('seconds'))} s, {r.get('objects_stored', 0):,} of "
                    f"{r.get('objects', 0):,} stored (≤ {fmt(v)})"), v
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
        if scenario.startswith("mixed"):
            writes = statistics.median(r.get("write_objects_per_s", 0) for r in oks)
            text = (f"{fmt(m)} read (p99 {extra.get('read_p99_ms')} ms); {fmt(writes)} written "
                    f"(p99 {extra.get('write_p99_ms')} ms per envelope of 100)")
            if any(r.get("file_exhausted") for r in oks):
                text += f"; its file ran out after {extra.get('seconds')} s"
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
                text, v = cell(scenario, per_target[t], (size, scenario, t))
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
                        bound = "≥ " if (size, scenario, p) in bounds else ""
                        ratios.append(f"{bound}{a / b:.2f}×")
                    elif a is not None and p in per_target and values.get(p) is None:
                        ratios.append("peer failed")
                    else:
                        ratios.append("—")
        out.append("| " + " | ".join([f"{int(size):,}", scenario, unit] + cells + ratios) + " |")
    out.append("")
    out.append("`seed` is the first start of a store that copies the data file in (taxiid SQLite and")
    out.append("PostgreSQL: from the medallion data file; OpenTAXII: bench/opentaxii_target.py through its")
    out.append("own models); `start` is the time from launch to the first answered discovery request of")
    out.append("the server that is measured (taxiid SQLite/PostgreSQL: a restart on the seeded store;")
    out.append("memory and medallion: loading the data file); `rss` is VmRSS after the read scenarios")
    out.append("(OpenTAXII: gunicorn's master and workers summed); `peak rss` is VmHWM after the ingests.")
    out.append("`ingest` posts new objects from 4 writers until every status is complete, then reads the")
    out.append("collection back (`verified`); `mixed` is 32 readers paging `objects` (up to 5 pages each")
    out.append("time) while 4 writers post envelopes of 100 into `ingest`. A peer that times out on a")
    out.append("scenario is not run again in later repeats, and one that cannot serve the unfiltered page")
    out.append("or the walk at a size is not started at the larger ones.")
    out.extend(targets_section(rows, targets))
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


def targets_section(rows, targets):
    """Issue 6's targets, each with what this run measured."""

    def median(size, scenario, target, field=None):
        results = [r for r in rows.get((size, scenario), {}).get(target, []) if r.get("ok")]
        if not results:
            return None
        values = [r.get(field) if field else metric(scenario, r)[0] for r in results]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    sizes = sorted({int(k[0]) for k in rows})
    small = min(sizes) if sizes else None
    large = max(sizes) if sizes else None
    write = max((int(k[0]) for k in rows if k[1].startswith("ingest")), default=None)
    walk = 100_000 if 100_000 in sizes else large
    checks = []

    def check(name, value, goal, ok, how):
        if value is None:
            checks.append(f"| {name} | not measured | {goal} | — |")
        else:
            checks.append(f"| {name} | {how(value)} | {goal} | {'met' if ok(value) else 'NOT met'} |")

    def ratio(a, b):
        return a / b if a is not None and b else None

    for t in TAXIIDS:
        check(f"discovery@32, {t} / medallion",
              ratio(median(small, "discovery@32", t), median(small, "discovery@32", "medallion")),
              "≥ 30×", lambda v: v >= 30, lambda v: f"{v:.1f}×")
    ten = 10_000 if 10_000 in sizes else small
    check(f"page@32 at {ten:,} objects, taxiid-sqlite / OpenTAXII",
          ratio(median(ten, "page@32 none", "taxiid-sqlite"), median(ten, "page@32 none", "opentaxii")),
          "≥ 10×", lambda v: v >= 10, lambda v: f"{v:.1f}×")
    for t in TAXIIDS:
        p_large, p_ten = median(large, "page@32 none", t, "p50_ms"), median(ten, "page@32 none", t, "p50_ms")
        check(f"{t}: page p50 at {large:,} / at {ten:,} objects", ratio(p_large, p_ten), "≤ 1.5×",
              lambda v: v <= 1.5, lambda v: f"{v:.2f}× ({p_large} ms / {p_ten} ms)")
    check(f"walk of {walk:,} objects, taxiid-sqlite", median(walk, "walk", "taxiid-sqlite"), "≤ 2 s",
          lambda v: v <= 2, lambda v: f"{v:.2f} s")
    check("ingest, envelopes of 1,000, taxiid-sqlite", median(write, "ingest env=1000", "taxiid-sqlite"),
          "≥ 30,000 obj/s", lambda v: v >= 30_000, lambda v: f"{v:,.0f} obj/s")
    check("ingest, envelopes of 1,000, taxiid-memory", median(write, "ingest env=1000", "taxiid-memory"),
          "≥ 100,000 obj/s", lambda v: v >= 100_000, lambda v: f"{v:,.0f} obj/s")
    check(f"RSS with {large:,} objects, taxiid-sqlite", median(large, "rss", "taxiid-sqlite"), "≤ 150 MB",
          lambda v: v <= 150, lambda v: f"{v:.0f} MB")
    check(f"taxiid-postgres page@32 at {ten:,} objects", median(ten, "page@32 none", "taxiid-postgres"),
          "≥ 1,000 req/s", lambda v: v >= 1000, lambda v: f"{v:,.0f} req/s")
    check("taxiid-postgres ingest, envelopes of 1,000", median(write, "ingest env=1000", "taxiid-postgres"),
          "≥ 15,000 obj/s", lambda v: v >= 15_000, lambda v: f"{v:,.0f} obj/s")
    return ["", "## The issue's targets, from this run", "",
            "| target | measured | goal | |", "|---|---|---|---|"] + checks + [
                "", "Where a target is not met, `bench/README.md` (\"Where the time goes\") has the",
                "profile of that scenario and what stands between it and the goal."]


if __name__ == "__main__":
    main()
