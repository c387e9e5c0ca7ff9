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


BENCHMARKS = {
    "spc_xmr_rules_100k_series_vectorised": dict(setup=setup_vectorised, run=run_vectorised, series=100_000,
                                                 note="one spc(by=...) call, 3.6M points"),
    "spc_xmr_rules_per_series_loop_1k": dict(setup=setup_loop, run=run_loop, series=1_000, scale_to=100_000,
                                             note="spc() once per series; time x100 estimates 100,000 series"),
}
