"""The matrix path: complete series of equal length (64 or more segments) are computed row-wise
instead of grouped. It must give what the grouped path gives -- the path the R reference
fixtures check (tests/variation/test_spc_reference.py) -- on every column, series by series."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation import _segments as S
from qi_equity.variation import spc


def _series(n_series, n_points=24, seed=3, decimals=1, ties=True):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=n_points, freq="MS")
    v = rng.normal(50, 5, (n_series, n_points)).round(decimals)
    if ties:  # runs, flat stretches and values on the centre line, where the rules' edges are
        v[::5, 5:13] = v[::5, 5:6] + np.arange(8) * 0.5          # a trend
        v[1::7, :] = np.round(v[1::7, :1], 0)                       # constant series
        v[2::9, 10:18] += 12                                         # a shift
        v[3::11, -1] = v[3::11, :-1].mean(axis=1).round(decimals)    # near the mean
    return pd.DataFrame({"series": np.repeat(np.arange(n_series), n_points), "date": np.tile(months, n_series),
                         "value": v.ravel(), "target": 48.0})


@pytest.mark.parametrize("chart", ["xmr", "i", "run", "c"])
def test_the_matrix_path_gives_what_each_series_alone_gives(chart):
    df = _series(80)
    assert S.regular(np.repeat(np.arange(80), 24), 80) == 24   # the batch takes the matrix path
    df["value"] = df["value"].abs() if chart == "c" else df["value"]
    batch = spc(df, by="series", chart=chart, improvement="increase", target="target")
    for k in range(0, 80, 3):                                   # one series alone: the grouped path
        one = spc(df[df["series"] == k], by="series", chart=chart, improvement="increase", target="target")
        bp = batch.points[batch.points["series"] == k].reset_index(drop=True)
        pd.testing.assert_frame_equal(bp, one.points, check_exact=False, rtol=1e-12, atol=1e-12)
        bs = batch.summary[batch.summary["series"] == k].reset_index(drop=True)
        pd.testing.assert_frame_equal(bs, one.summary, check_exact=False, rtol=1e-9, atol=1e-12)


def test_the_matrix_path_puts_ties_with_the_centre_where_the_grouped_path_does():
    # values to one decimal whose mean is one of them, in 100 series: the long-double means of
    # both paths put the point on the same side of (or on) the line, series by series
    rows = np.arange(100)
    v = np.round(np.array([0.1, 0.3, 0.2, 0.4, 0.0, 0.7, 0.7]) + rows[:, None] * 0.37, 1)
    months = pd.date_range("2024-01-01", periods=7, freq="MS")
    df = pd.DataFrame({"series": np.repeat(rows, 7), "date": np.tile(months, 100), "value": v.ravel()})
    batch = spc(df, by="series").points["relative_to_centre"].to_numpy().reshape(100, 7)
    alone = np.array([spc(df[df["series"] == k]).points["relative_to_centre"].to_numpy() for k in rows])
    assert (batch == alone).all()
    assert (batch == 0).any()   # some of them are ties: the case this guards


def test_a_missing_month_or_a_rebase_leaves_the_matrix_path_and_still_agrees():
    df = _series(70)
    gap = df.drop(index=df.index[(df["series"] == 4) & (df["date"] == "2024-06-01")])
    batch = spc(gap, by="series")
    one = spc(gap[gap["series"] == 4], by="series")
    pd.testing.assert_frame_equal(batch.summary[batch.summary["series"] == 4].reset_index(drop=True), one.summary,
                                  check_exact=False, rtol=1e-9)
    assert batch.points["missing"].sum() == 1


def test_boundary_runs_start_after_points_that_are_not_useful():
    # Anhoej runs skip points on the centre line and missing ones: a series whose first points are
    # missing must start its first run at its first useful point (the longest run is not one longer)
    df = _series(70, ties=False)
    first = df["date"] == df["date"].min()
    second = df["date"] == sorted(df["date"].unique())[1]
    df.loc[first | (second & (df["series"] % 2 == 0)), "value"] = np.nan
    batch = spc(df, by="series").summary.set_index("series")
    for k in range(0, 70, 5):
        alone = spc(df[df["series"] == k], by="series").summary.iloc[0]
        assert batch.loc[k, "longest_run"] == alone["longest_run"]
        assert batch.loc[k, "crossings"] == alone["crossings"] and batch.loc[k, "n_useful"] == alone["n_useful"]
    # by hand for one series: its useful points' signs, their longest run and crossings
    one = spc(df[df["series"] == 0], by="series")
    rel = one.points["relative_to_centre"].to_numpy()
    signs = rel[rel != 0]
    runs = np.split(signs, np.flatnonzero(np.diff(signs) != 0) + 1)
    assert batch.loc[0, "longest_run"] == max(len(r) for r in runs)
    assert batch.loc[0, "crossings"] == len(runs) - 1


def test_missing_values_in_the_matrix_path_give_what_each_series_alone_gives():
    # NaN values (months given without a value) keep the matrix layout; the autocorrelation,
    # runs and limits must skip them as the grouped path does
    df = _series(72)
    rng = np.random.default_rng(8)
    df.loc[rng.choice(len(df), 150, replace=False), "value"] = np.nan
    batch = spc(df, by="series", improvement="increase")
    for k in range(0, 72, 4):
        one = spc(df[df["series"] == k], by="series", improvement="increase")
        bs = batch.summary[batch.summary["series"] == k].reset_index(drop=True)
        pd.testing.assert_frame_equal(bs, one.summary, check_exact=False, rtol=1e-9, atol=1e-12)
    varied = ~batch.summary["no_variation"]   # a constant series has no autocorrelation
    assert batch.summary.loc[varied, "autocorrelation"].notna().all() and batch.points["missing"].sum() == 150
