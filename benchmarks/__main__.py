"""Run every benchmark in a fresh process (median of >= 5 runs, peak resident memory) and
write benchmarks/RESULTS.md with the machine and library versions.

    python -m benchmarks            # all
    python -m benchmarks NAME ...   # some
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = ["benchmarks.bench_spc", "benchmarks.bench_reports", "benchmarks.bench_national", "benchmarks.bench_findings",
           "benchmarks.bench_disclosure"]
REPEATS = int(os.environ.get("QI_BENCH_REPEATS", "5"))


def registry():
    out = {}
    for m in MODULES:
        mod = importlib.import_module(m)
        for name, spec in mod.BENCHMARKS.items():
            out[name] = (m, spec)
    return out


def run_one(name: str) -> dict:
    mod, spec = registry()[name]
    data = spec["setup"]()
    if spec.get("warmup", True):
        spec["run"](data)
    times = []
    result = None
    child_peaks = []
    for _ in range(spec.get("repeats", REPEATS)):
        t = time.perf_counter()
        result = spec["run"](data)
        took = time.perf_counter() - t
        # a benchmark that times itself inside a process of its own reports its own seconds
        times.append(result["seconds"] if isinstance(result, dict) and "seconds" in result else took)
        if isinstance(result, dict) and "child_peak_rss_mib" in result:  # a command run as a process
            child_peaks.append(result["child_peak_rss_mib"])
    peak = (max(child_peaks) if child_peaks  # the process's own peak, not this harness's
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux -> MiB
    summary = spec["summarise"](result) if spec.get("summarise") else None
    return {"name": name, "times": times, "median": statistics.median(times), "peak_rss_mib": peak,
            "markdown": (summary or {}).get("markdown", ""),
            "series": spec.get("series"), "scale_to": spec.get("scale_to"), "unit": spec.get("unit", "series"),
            "repeats": spec.get("repeats", REPEATS), "note": spec.get("note", ""), "floor": spec.get("floor")}


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int([l for l in open("/proc/meminfo") if l.startswith("MemTotal")][0].split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError):
        pass
    import numpy
    import pandas
    import scipy

    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "memory": mem,
            "os": platform.platform(), "python": platform.python_version(), "numpy": numpy.__version__,
            "pandas": pandas.__version__, "scipy": scipy.__version__}


def main(argv):
    if argv[:1] == ["--one"]:
        print(json.dumps(run_one(argv[1])))
        return 0
    names = argv or list(registry())
    store = HERE / "results.json"
    previous = json.loads(store.read_text()) if store.exists() else {}
    results = []
    for name in names:
        print(f"running {name} ...", flush=True)
        out = subprocess.run([sys.executable, "-m", "benchmarks", "--one", name], capture_output=True, text=True,
                             cwd=HERE.parent)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["ran_at"] = time.strftime("%Y-%m-%d %H:%M")
        results.append(r)
        print(f"  median {r['median']:.3f} s, peak RSS {r['peak_rss_mib']:.0f} MiB")
    merged = {**previous, **{r["name"]: r for r in results}}
    store.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
    order = list(registry())
    results = sorted(merged.values(), key=lambda r: order.index(r["name"]) if r["name"] in order else 99)
    m = machine()
    lines = ["# Benchmark results", "", f"Written {time.strftime('%Y-%m-%d %H:%M')} by `./kit bench` "
             f"(median of {REPEATS} runs, after a warm-up run unless noted, each benchmark in a fresh process; peak RSS is the benchmark process's own, not its kernel subprocesses').", "",
             "## Machine", ""] + [f"- {k}: {v}" for k, v in m.items()] + [
             "", "## Results", "", "| benchmark | series | median (s) | runs (s) | peak RSS (MiB) | ran | note |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        runs = ", ".join(f"{t:.2f}" for t in r["times"])
        lines.append(f"| {r['name']} | {r['series'] or ''} | {r['median']:.3f} | {runs} | "
                     f"{r['peak_rss_mib']:.0f} | {r.get('ran_at', '')} | {r['note']} |")
    scaled = [r for r in results if r.get("scale_to")]
    if scaled:
        lines += ["", "## Scaled from a smaller run", ""]
        vec = {r["series"]: r for r in results if not r.get("scale_to")}
        for r in scaled:
            est = r["median"] * r["scale_to"] / r["series"]
            unit = r.get("unit", "series")
            line = (f"- {r['name']}: {r['median']:.2f} s for {r['series']:,} {unit}, about {est:,.0f} s "
                    f"({est / 60:.1f} min) for {r['scale_to']:,}")
            if r["scale_to"] in vec and unit == "series":
                line += f" -- the vectorised call is about {est / vec[r['scale_to']]['median']:,.0f}x faster"
            lines.append(line + ".")
    floored = [r for r in results if r.get("floor") and r["floor"] in merged]
    if floored:
        lines += ["", "## Against the floor", "", "Ratios to a floor benchmark's median; both must come from the "
                  "same run (`ran` within minutes) to be compared on this shared machine.", ""]
        for r in floored:
            f = merged[r["floor"]]
            lines.append(f"- {r['name']}: {r['median']:.3f} s against {f['name']} {f['median']:.3f} s: "
                         f"**{r['median'] / f['median']:.1f}x** the floor (ran {r.get('ran_at', '')} and "
                         f"{f.get('ran_at', '')}).")
    for r in results:
        if r.get("markdown"):
            lines += ["", r["markdown"]]
    extra = HERE / "NOTES.md"
    if extra.exists():
        lines += ["", extra.read_text().strip()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
