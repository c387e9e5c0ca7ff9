"""Small-number suppression: primary, derived, secondary, and an attack that tries to
recover every hidden cell from the published totals."""

import itertools

import numpy as np
import pandas as pd
import pytest

from qi_equity.disclosure import primary, suppress_table
from qi_equity.reports.provider import EQUITY_COUNTS, equity_summary


def test_primary_hides_one_to_four_not_zero():
    assert primary(pd.Series([0, 1, 4, 5, 100])).tolist() == [False, True, True, False, False]
    assert primary(pd.Series([0, 1, 7, 8]), threshold=8).tolist() == [False, True, True, False]


def test_derived_values_hidden_and_lone_cell_protected():
    df = pd.DataFrame({"dim": ["all", "d", "d", "d"], "group": ["All", "a", "b", "c"],
                       "n": [120, 3, 50, 67], "rate": [0.5, 0.33, 0.4, 0.6]})
    pub = suppress_table(df, {"n": ["rate"]}, partition=["dim"])
    assert pub.mask["n"].tolist() == [False, True, True, False]   # 3 (primary) and 50 (secondary)
    assert pub.mask["rate"].tolist() == [False, True, True, False]
    assert np.isnan(pub.data.loc[1, "rate"])
    assert pub.display().loc[1, "n"] == "*"


def test_all_ones_are_protected():
    df = pd.DataFrame({"dim": "d", "n": [1, 1, 30, 40]})
    pub = suppress_table(df, {"n": []}, partition=["dim"])
    # two hidden ones would be recoverable (each at least 1, summing to 2): a third is hidden
    assert pub.mask["n"].sum() == 3


def test_group_whose_every_cell_is_suppressed():
    df = pd.DataFrame({"dim": "d", "n": [2, 3, 1], "x": [1, 1, 0]})
    pub = suppress_table(df, {"n": ["x"], "x": []}, partition=["dim"])
    assert pub.mask["n"].all()
    assert pub.mask["x"].iloc[:2].all()


def _attack(published: pd.DataFrame, truth: pd.DataFrame, count: str, total: float, threshold: int = 5):
    """Everything an attacker can infer: each hidden cell is >= 1 (zeros are published) and the
    hidden cells add up to the total minus the published ones. Returns the cells pinned down."""
    hidden = published[count].isna()
    k = int(hidden.sum())
    if k == 0:
        return []
    rest = total - published.loc[~hidden, count].sum()
    recovered = []
    for i in np.flatnonzero(hidden.to_numpy()):
        lo = max(1, rest - (k - 1) * 10**9)  # others could be arbitrarily large
        hi = rest - (k - 1)                  # others at least 1 each
        if lo == hi:
            recovered.append(int(truth[count].iloc[i]))
    return recovered


def test_no_hidden_cell_of_a_published_equity_table_is_recoverable(sample_derived):
    """Within the table: each dimension's groups against the published all-patients total (a
    hidden total gives the attacker nothing to subtract from; totals published in other tables
    are the cross-table audit's business, qi_equity.disclosure)."""
    from _support import PROVIDERS

    for code in PROVIDERS:
        pub = equity_summary(sample_derived(code), "2026-03-31")
        from qi_equity import measures

        truth = measures.equity_table(sample_derived(code), "2026-03-31", 12,
                                      dimensions=("all", "sex_age", "ethnic_group", "imd_quintile"))
        data = pub.data
        assert data["dimension"].tolist() == truth["dimension"].tolist()
        n_hidden = 0
        for count in EQUITY_COUNTS:
            total = truth.loc[truth.dimension == "all", count].iloc[0]
            if pd.isna(data.loc[data.dimension == "all", count].iloc[0]):
                continue  # the total is itself hidden
            for dim in ("sex_age", "ethnic_group", "imd_quintile"):
                m = (data.dimension == dim).to_numpy()
                n_hidden += int(data.loc[m, count].isna().sum())
                assert _attack(data[m], truth[m], count, total) == [], (code, count, dim)
            # every primary cell is hidden
            small = truth[count].between(1, 4)
            assert data.loc[small, count].isna().all()
        assert n_hidden > 0  # the test exercises suppression


def test_single_group_table_has_no_partition_to_attack():
    df = pd.DataFrame({"dim": ["d"], "n": [3]})
    assert suppress_table(df, {"n": []}, partition=["dim"]).mask["n"].tolist() == [True]
