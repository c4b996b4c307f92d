"""Prints the results of one bench/run.sh run as Markdown (medians, ratios,
the exact commands). Usage: summary.py OUTDIR (the run's results folder)."""

import os
import statistics
import sys

TOOL_NAMES = {
    "source": "smtp-source -d (20 conns, reused)",
    "source-r": "smtp-source (new conn per message)",
    "load": "smtp_load (per-message times)",
}
TARGET_NAMES = {
    "postel": "Postel (embedded store)",
    "postfix": "Postfix (fsync before 250)",
    "sink": "smtp-sink (stores nothing)",
}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=1):
    return "-" if v is None else "%.*f" % (digits, v)


def ingest(rows):
    groups = {}
    for r in rows:
        target, tool, _rep, rc, _wall, rate, p50, p99, acc, peak = r[:10]
        cs, cpu = (r[10:12] + ["-", "-"])[:2]
        g = groups.setdefault((target, tool), {"rate": [], "p50": [],
                                               "p99": [], "peak": [],
                                               "acc": [], "rc": [],
                                               "cs": [], "cpu": []})
        ok = rc == "0"
        g["rc"].append(rc)
        g["rate"].append(num(rate) if ok else None)
        g["p50"].append(num(p50) if ok else None)
        g["p99"].append(num(p99) if ok else None)
        g["peak"].append(num(peak))
        g["acc"].append(acc)
        g["cs"].append(num(cs) if ok else None)
        g["cpu"].append(num(cpu) if ok else None)
    return groups


def print_ingest(groups):
    print("| server | load generator | msg/s (median) | msg/s (runs) "
          "| p50 ms | p99 ms | ctxt sw/msg | CPU ms/msg | peak memory "
          "| accepted/runs ok |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---|")
    order = [(t, k) for t in ("postel", "postfix", "sink")
             for k in ("source", "source-r", "load") if (t, k) in groups]
    for key in order:
        g = groups[key]
        target, tool = key
        peak = median(g["peak"])
        if peak is None:
            peak_s = "-"
        elif target == "postel":
            peak_s = "%.0f MB (VmHWM)" % (peak / 1024)
        elif target == "postfix":
            peak_s = "%.0f MB (all procs, PSS)" % (peak / 1024)
        else:
            peak_s = "-"
        runs = ", ".join(fmt(v, 0) for v in g["rate"])
        oks = sum(1 for rc in g["rc"] if rc == "0")
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %d of %d |"
              % (
            TARGET_NAMES.get(target, target), TOOL_NAMES.get(tool, tool),
            fmt(median(g["rate"]), 0), runs,
            fmt(median(g["p50"]), 2) if tool == "load" else "",
            fmt(median(g["p99"]), 2) if tool == "load" else "",
            fmt(median(g["cs"]), 2) if target == "postel" else "",
            fmt(median(g["cpu"]), 3) if target == "postel" else "",
            peak_s, "/".join(g["acc"]), oks, len(g["rc"])))


def print_ratios(groups):
    print()
    print("| load generator | Postel / Postfix (msg/s) | Postel / smtp-sink "
          "(msg/s) | Postfix / smtp-sink | p99 Postfix / Postel |")
    print("|---|---:|---:|---:|---:|")
    for tool in ("source", "source-r", "load"):
        m = {t: median(groups[(t, tool)]["rate"])
             for t in ("postel", "postfix", "sink") if (t, tool) in groups}
        p99 = {t: median(groups[(t, tool)]["p99"])
               for t in ("postel", "postfix") if (t, tool) in groups}
        if not m:
            continue

        def ratio(a, b, d=m):
            if d.get(a) and d.get(b):
                return "%.2fx" % (d[a] / d[b])
            return "pending" if "postel" in (a, b) else "-"
        print("| %s | %s | %s | %s | %s |" % (
            TOOL_NAMES.get(tool, tool), ratio("postel", "postfix"),
            ratio("postel", "sink"), ratio("postfix", "sink"),
            ratio("postfix", "postel", p99) if tool == "load" else ""))


def print_idle(rows):
    if not rows:
        return
    print()
    print("| server | connections | greeted | memory before | memory after "
          "| per connection | established | detail |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        target, n, greeted, before, after, per, estab, detail = r[:8]
        what = "RSS" if target == "postel" else "PSS, all procs"
        print("| %s | %s | %s | %.1f MB | %.1f MB (%s) | %s kB | %s | %s |" % (
            target, n, greeted, float(before) / 1024, float(after) / 1024,
            what, per, estab, detail))


def main():
    out = sys.argv[1]
    if os.path.exists(os.path.join(out, "machine.txt")):
        with open(os.path.join(out, "machine.txt")) as f:
            for line in f:
                print(line.rstrip().lstrip("# ") + "  ")
    print()
    groups = ingest(read_tsv(os.path.join(out, "results.tsv")))
    print_ingest(groups)
    print_ratios(groups)
    if os.path.exists(os.path.join(out, "postel-pending.txt")):
        print("\nPostel column pending: it did not build or accept mail.")
    print_idle(read_tsv(os.path.join(out, "idle.tsv")))
    print("\nCommands:\n")
    seen = set()
    for r in read_tsv(os.path.join(out, "commands.tsv")):
        if tuple(r) not in seen:
            seen.add(tuple(r))
            print("    %s %s: %s" % tuple(r[:3]))


if __name__ == "__main__":
    main()
