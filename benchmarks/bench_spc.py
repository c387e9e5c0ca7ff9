"""XmR + Making Data Count rules for many series at once, against a per-series loop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity.variation import spc

N_POINTS = 36


def make(n_series: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2023-04-01", periods=N_POINTS, freq="MS")
    return pd.DataFrame({
        "series": np.repeat(np.arange(n_series), N_POINTS),
        "date": np.tile(months.values, n_series),
        "value": rng.normal(50, 5, n_series * N_POINTS).round(1),
    })


def setup_vectorised(n_series=100_000):
    return make(n_series)


def run_vectorised(df):
    return spc(df, by="series", improvement="increase", target=45)


def setup_loop(n_series=1_000):
    return make(n_series)


def run_loop(df):
    for _, one in df.groupby("series", sort=False):
        spc(one, improvement="increase", target=45)


def setup_floor(n_series=100_000):
    return make(n_series)["value"].to_numpy().reshape(n_series, N_POINTS)


def run_floor(x):
    from benchmarks.spc_floor import floor_spc

    return floor_spc(x)


FIRST_CALL = """
import time, sys
sys.path.insert(0, {root!r})
from benchmarks.bench_spc import make
df = make(100_000)
from qi_equity.variation import spc
t = time.perf_counter()
spc(df, by="series", improvement="increase", target=45)
print(time.perf_counter() - t)
"""


def setup_first_call():
    from pathlib import Path

    return FIRST_CALL.format(root=str(Path(__file__).resolve().parents[1]))


def run_first_call(code, huge_pages: str = "0"):
    """The call timed inside a new process (its first spc() call: imports done, data built), with
    numpy's transparent-huge-page advice as the kit's commands set it (off: ``./kit`` exports
    ``NUMPY_MADVISE_HUGEPAGE=0``) unless ``huge_pages="1"`` (numpy's default)."""
    import os
    import subprocess
    import sys

    import resource

    env = dict(os.environ, NUMPY_MADVISE_HUGEPAGE=huge_pages)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far, MiB
    return {"seconds": float(out.stdout.strip().splitlines()[-1]), "child_peak_rss_mib": peak}


BENCHMARKS = {
    "spc_floor_numpy_100k_series": dict(setup=setup_floor, run=run_floor, series=100_000,
                                        note="the floor: XmR limits and the four MDC rules in bare numpy on a "
                                             "100,000 x 36 matrix (benchmarks/spc_floor.py)"),
    "spc_xmr_rules_100k_series_first_call": dict(setup=setup_first_call, run=run_first_call, series=100_000,
                                                 warmup=False, floor="spc_floor_numpy_100k_series",
                                                 note="spc(by=...) as the first call in a new process (timed "
                                                      "inside it), as the kit's commands run it; target "
                                                      "within 3x of the floor"),
    "spc_xmr_rules_100k_series_first_call_numpy_huge_pages": dict(
        setup=setup_first_call, run=lambda code: run_first_call(code, huge_pages="1"), series=100_000,
        warmup=False, floor="spc_floor_numpy_100k_series",
        note="as the first call, with numpy's default transparent-huge-page advice (NUMPY_MADVISE_HUGEPAGE=1): "
             "on a kernel that compacts memory on the spot the fresh process's page faults vary widely"),
    "spc_xmr_rules_100k_series_vectorised": dict(setup=setup_vectorised, run=run_vectorised, series=100_000,
                                                 floor="spc_floor_numpy_100k_series",
                                                 note="one spc(by=...) call, 3.6M points, after a first call "
                                                      "(target within 2x of the floor)"),
    "spc_xmr_rules_per_series_loop_1k": dict(setup=setup_loop, run=run_loop, series=1_000, scale_to=100_000,
                                             note="spc() once per series; time x100 estimates 100,000 series"),
}
