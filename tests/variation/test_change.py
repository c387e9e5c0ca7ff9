"""The change-in-level test: distribution-free calibration (binomial, skewed medians), power,
where the change is, and its boundaries."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from qi_equity.variation.change import change_test, null_distribution, p_value


@pytest.mark.parametrize("kind", ["normal", "binomial_np4", "median_of_10"])
def test_p_values_are_calibrated_under_a_stable_process(kind):
    rng = np.random.default_rng([7, len(kind)])
    s, n = 20_000, 36
    if kind == "normal":
        y = rng.standard_normal((s, n))
    elif kind == "binomial_np4":  # 4 expected events a month: discrete and skewed
        y = rng.binomial(40, 0.1, size=(s, n)) / 40
    else:  # monthly medians of 10 skewed waits
        y = np.median(rng.gamma(2.2, 6, size=(s, n, 10)), axis=2)
    p = change_test(y)["p_value"].to_numpy()
    for alpha in (0.05, 0.01):
        hits = int((p <= alpha).sum())
        # within a 99.9% binomial range of the nominal rate
        lo, hi = binom.ppf(0.0005, s, alpha), binom.ppf(0.9995, s, alpha)
        assert lo <= hits <= hi, (kind, alpha, hits, lo, hi)


def test_a_step_is_found_where_it_is_in_its_direction():
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(20), np.full(16, 1.5)] + rng.standard_normal(36) * 0.6
    r = change_test(y[None, :], dates=np.arange("2023-04", "2026-04", dtype="datetime64[M]")).iloc[0]
    assert r["p_value"] < 1e-5 and r["direction"] == 1
    assert r["change_at"] == 20 and str(r["change_from"])[:7] == "2024-12"
    assert r["shift"] == pytest.approx(1.5, abs=0.4)
    down = change_test(-y[None, :]).iloc[0]
    assert down["direction"] == -1 and down["p_value"] == pytest.approx(r["p_value"])


def test_min_segment_is_respected_at_its_boundary():
    # a change after 33 of 36 points leaves 3 after it: with segments of at least 4 the split
    # cannot be at 33; with 3 it can
    y = np.r_[np.zeros(33), np.full(3, 10.0)] + np.random.default_rng(5).standard_normal(36)
    assert change_test(y[None, :], min_segment=4)["change_at"].iloc[0] <= 32
    assert change_test(y[None, :], min_segment=3)["change_at"].iloc[0] == 33


def test_shipped_null_table_agrees_with_an_independent_simulation():
    """The table (10 million series) against 200,000 fresh ones: the share of fresh statistics above
    each tabulated point is within a 99.9% binomial range of its tabulated probability."""
    from qi_equity.variation.change import _step_statistic, _table

    table = _table()
    assert {"n36_k4", "n18_k3"} <= set(table)
    rng = np.random.default_rng(2026)
    for n, k in ((36, 4), (18, 3)):
        fresh = np.concatenate([_step_statistic(rng.standard_normal((50_000, n)), k)[0] for _ in range(4)])
        q, p = table[f"n{n}_k{k}"], table[f"n{n}_k{k}_p"]
        for target in (0.1, 0.01, 0.001):
            j = int(np.argmin(np.abs(p - target)))
            hits = int((fresh >= q[j]).sum())
            lo, hi = binom.ppf(0.0005, len(fresh), p[j]), binom.ppf(0.9995, len(fresh), p[j])
            assert lo <= hits <= hi + 1, (n, target, hits, lo, hi)


def test_null_distribution_is_reproducible_and_p_value_is_monotone():
    a = null_distribution(18, 3)
    null_distribution.cache_clear()
    b = null_distribution(18, 3)
    assert np.array_equal(a, b)
    for n, k in ((18, 3), (24, 3)):  # from the table, and simulated in this process
        p = p_value(np.array([0.5, 2.0, 3.0, 3.4, 6.0]), n, k)
        assert np.all(np.diff(p) <= 0) and p[0] > 0.5 and p[-1] < 1e-4


def test_incomplete_or_short_series_are_refused():
    with pytest.raises(ValueError, match="no missing points"):
        change_test(np.r_[np.ones(10), np.nan, np.ones(10)][None, :])
    with pytest.raises(ValueError, match="too short"):
        change_test(np.ones((1, 7)), min_segment=4)


def _change_module():
    import sys

    import qi_equity.variation.change  # noqa: F401

    return sys.modules["qi_equity.variation.change"]


def test_boundary_p_values_from_the_table_at_below_between_and_beyond_its_values():
    """The shipped table for 36 points: a statistic equal to a tabulated value gets that value's
    P(S >= q); one just above it the same (the largest value at or below); one below the first
    value 1; one beyond the last a normal tail scaled to meet the table there."""
    from scipy.stats import norm

    ch = _change_module()
    t = ch._table()
    q, pge = t["n36_k4"], t["n36_k4_p"]
    x = np.array([q[5], (q[5] + q[6]) / 2, q[0] - 0.1, q[-1], q[-1] + 0.5, q[-1] + 2.0])
    got = ch.p_value(x, 36, 4)
    tail = pge[-1] * norm.sf(x[4:]) / norm.sf(q[-1])
    assert got.tolist() == pytest.approx([pge[5], pge[5], 1.0, pge[-1], *tail], rel=1e-12)
    assert got[4] < pge[-1] and (np.diff(got) <= 0)[2:].all()      # the tail keeps falling
    assert got[0] < got[2] and got.max() <= 1.0


def test_boundary_p_values_simulated_when_the_table_has_no_such_series(monkeypatch):
    """For a length the table lacks, the p-value comes from a null simulated in the process: (the
    simulated values at or above it + 1) / (m + 1), and a normal tail once fewer than TAIL_COUNT
    (25) values are at or above it. A null of 0.00, 0.01, ..., 9.99 (m = 1,000) makes it by hand."""
    from scipy.stats import norm

    ch = _change_module()
    null = np.arange(1000) / 100
    monkeypatch.setattr(ch, "null_distribution", lambda n, k, n_sim=None: null)
    assert "n20_k4" not in ch._table()
    x = np.array([5.0, 5.005, 9.75, 9.76, 9.9])
    got = ch.p_value(x, 20, 4)
    # 5.00: 500 values at or above -> 501 / 1001; 5.005: 499 above -> 500 / 1001; 9.75: 25 -> 26 / 1001
    assert got[:3].tolist() == pytest.approx([501 / 1001, 500 / 1001, 26 / 1001])
    # 9.76: 24 at or above, fewer than 25: the tail from s0 = null[1000 - 25] = 9.75, p0 = 26 / 1001
    p0, s0 = 26 / 1001, 9.75
    assert got[3:].tolist() == pytest.approx([min(p0, p0 * norm.sf(v) / norm.sf(s0)) for v in (9.76, 9.9)])


def _brute_force_statistic(y: np.ndarray, k_min: int) -> float:
    """The max-type Mann-Whitney statistic of one series without ties, written out: ranks 1..n;
    for each split k (k_min <= k <= n - k_min) the difference between the mean rank after and
    before, divided by its standard deviation under random permutation,
    sqrt(sigma^2 * n / (n - 1) * (1/k + 1/(n - k))) with sigma^2 = (n^2 - 1) / 12 (Pettitt 1979);
    the largest |z|, rounded to 9 decimals as the module documents (STAT_DECIMALS)."""
    n = len(y)
    r = np.empty(n)
    r[np.argsort(y)] = np.arange(1, n + 1)
    var = (n * n - 1) / 12 * n / (n - 1)
    best = 0.0
    for k in range(k_min, n - k_min + 1):
        z = (r[k:].mean() - r[:k].mean()) / np.sqrt(var * (1 / k + 1 / (n - k)))
        best = max(best, abs(z))
    return round(best, 9)


def test_write_null_table_tabulates_the_simulated_tail_exactly(tmp_path):
    """The table writer on a small simulation (2,000 series of 8 points, at least 2 each side): its
    series are the seeded draws ``default_rng([SEED, n, k, 1])``, so the statistics can be worked
    out one series at a time by brute force. Each tabulated value must be the quantile of those
    statistics at 1 - p for the grid's p, and its probability the share of statistics at or above
    it (the statistic is discrete, so not the grid's p)."""
    ch = _change_module()
    n, k, m = 8, 2, 2_000
    path = ch.write_null_table(tmp_path / "null.npz", shapes=((n, k),), n_sim=m)
    assert path == tmp_path / "null.npz"
    draws = np.random.default_rng([ch.SEED, n, k, 1]).standard_normal((m, n))
    stats = np.sort([_brute_force_statistic(row, k) for row in draws])
    with np.load(path) as z:
        assert set(z.files) == {"p", f"n{n}_k{k}", f"n{n}_k{k}_p"}
        assert np.array_equal(z["p"], ch.TABLE_P)
        q, pge = z[f"n{n}_k{k}"], z[f"n{n}_k{k}_p"]
    expected_q = np.unique(np.quantile(stats, 1 - ch.TABLE_P))
    assert q == pytest.approx(expected_q, abs=2e-9)
    share = np.array([(stats >= v - 1e-12).mean() for v in q])
    assert pge == pytest.approx(share, abs=0.5 / m)
    assert pge[0] == 1.0 and np.all(np.diff(pge) < 0)


def test_write_null_table_simulates_each_shape_in_chunks_of_100_000(tmp_path):
    """Two shapes, and more series than one chunk: 150,000 series of 6 points (one chunk of
    100,000 then 50,000), min segment 1, are the seeded draws taken in that order. With min
    segment 3 of 6 points the only split is at 3, so the statistic takes few values; its largest
    is the 3 highest ranks after the 3 lowest: z = (5 - 2) / sqrt(35/12 * 6/5 * 2/3) = 1.964."""
    ch = _change_module()
    path = ch.write_null_table(tmp_path / "t.npz", shapes=((6, 3), (5, 2)), n_sim=150_000)
    with np.load(path) as z:
        q63, p63 = z["n6_k3"], z["n6_k3_p"]
        assert "n5_k2" in z.files
    assert q63[-1] == pytest.approx(3 / np.sqrt(35 / 12 * 6 / 5 * 2 / 3), abs=1e-9)
    # P(the top three ranks all on one side) = 2 / C(6, 3) = 0.1; simulated from 150,000 series
    assert p63[-1] == pytest.approx(0.1, abs=4 * np.sqrt(0.1 * 0.9 / 150_000))
    rng = np.random.default_rng([ch.SEED, 6, 3, 1])
    first = rng.standard_normal((100_000, 6))
    second = rng.standard_normal((50_000, 6))
    top = sum((np.argsort(np.argsort(s, axis=1), axis=1)[:, 3:] >= 3).all(axis=1).sum()
              + (np.argsort(np.argsort(s, axis=1), axis=1)[:, :3] >= 3).all(axis=1).sum() for s in (first, second))
    assert p63[-1] == top / 150_000


def test_boundary_min_segment_for_a_monthly_grain_and_longer_periods():
    """Four points each side at a monthly grain (grain 1); three for two-monthly and longer."""
    ch = _change_module()
    assert ch.min_segment_for(36, 1) == 4 and ch.min_segment_for(36) == 4
    assert ch.min_segment_for(18, 2) == 3 and ch.min_segment_for(12, 3) == 3


def test_change_test_describes_the_change_on_the_values_own_scale():
    """Two series of 8 points (4 each side at least 2): 1, 2, 1, 2 then 6, 7, 6, 7, and its mirror.
    The largest rank statistic is at the split after 4 points: the four lowest ranks (mean 2.5)
    before, the four highest (6.5) after; var = (8^2 - 1) / 12 x 8 / 7 = 6, so
    z = 4 / sqrt(6 x (1/4 + 1/4)) = 4 / sqrt(3). On the values: means 1.5 and 6.5, shift 5,
    sample variances 1/3 each side, shift_se = sqrt(1/3 / 4 + 1/3 / 4) = sqrt(1/6)."""
    up = [1, 2, 1, 2, 6, 7, 6, 7]
    down = [14, 12, 14, 12, 2, 4, 2, 4]          # means 13 and 3, variances 4/3
    dates = pd.date_range("2025-01-01", periods=8, freq="MS")
    got = change_test(np.array([up, down]), min_segment=2, dates=dates)
    assert list(got.columns) == ["statistic", "p_value", "change_at", "change_from", "mean_before", "mean_after",
                                 "shift", "shift_se", "direction"]
    assert got["statistic"].tolist() == pytest.approx([4 / np.sqrt(3)] * 2, abs=1e-9)
    assert got["change_at"].tolist() == [4, 4] and got["change_from"].tolist() == [pd.Timestamp("2025-05-01")] * 2
    assert got["mean_before"].tolist() == pytest.approx([1.5, 13.0]) and got["mean_after"].tolist() == pytest.approx([6.5, 3.0])
    assert got["shift"].tolist() == pytest.approx([5.0, -10.0])
    assert got["shift_se"].tolist() == pytest.approx([np.sqrt(1 / 6), np.sqrt(2 * 4 / 3 / 4)], rel=1e-12)
    assert got["direction"].tolist() == [1, -1] and got["direction"].dtype.kind == "i"
    assert (got["p_value"] > 0).all() and (got["p_value"] <= 1).all()


def test_boundary_change_test_at_exactly_twice_the_minimum_segment():
    """A series of 2 x min_segment points has one split, in its middle; one point fewer is refused."""
    got = change_test(np.array([[1.0, 2, 1, 2, 8, 9, 8, 9]]), min_segment=4)
    assert got["change_at"].tolist() == [4] and got["shift"].tolist() == pytest.approx([7.0])
    # four points each side by default
    assert change_test(np.array([[1.0, 2, 1, 2, 8, 9, 8, 9]]))["change_at"].tolist() == [4]
    with pytest.raises(ValueError, match="too short for a change with 4 points each side"):
        change_test(np.ones((1, 7)))
    with pytest.raises(ValueError, match=r"^series of 7 points are too short for a change with 4 points each side$"):
        change_test(np.ones((1, 7)), min_segment=4)
    with pytest.raises(ValueError, match=r"^change_test needs complete series: no missing points$"):
        change_test(np.r_[np.ones(10), np.nan][None, :], min_segment=2)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match=r"^min_segment must be a whole number of points, at least 1"):
            change_test(np.ones((1, 10)), min_segment=bad)
    one = change_test(np.array([[1.0, 5.0]]), min_segment=1)     # the least there is: one point each side
    assert one["change_at"].tolist() == [1] and one["shift"].tolist() == [4.0]


def test_ties_are_broken_the_same_way_on_every_run():
    """Heavily tied series (whole numbers 0-2): the random tie-break has a fixed seed, so two runs
    give the same statistics and splits."""
    y = np.random.default_rng(3).integers(0, 3, size=(60, 20)).astype(float)
    a, b = change_test(y, min_segment=3), change_test(y, min_segment=3)
    assert a["statistic"].tolist() == b["statistic"].tolist() and a["change_at"].tolist() == b["change_at"].tolist()


def test_boundary_p_values_on_a_small_table_by_hand(monkeypatch):
    """A table of three values q = 1, 2, 3 with P(S >= q) = 0.9, 0.5, 0.1: a statistic below 1 gets
    1; from 1 up to 2, 0.9 (the largest tabulated value at or below it); from 2 up to 3, 0.5; at 3
    exactly, 0.1; beyond 3, 0.1 x sf(x) / sf(3) (the normal tail scaled to meet the table)."""
    from scipy.stats import norm

    ch = _change_module()
    table = {"n9_k2": np.array([1.0, 2.0, 3.0]), "n9_k2_p": np.array([0.9, 0.5, 0.1])}
    monkeypatch.setattr(ch, "_table", lambda: table)
    x = [0.5, 1.0, 1.5, 2.0, 2.5, 2.999, 3.0, 3.5]
    want = [1.0, 0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.1 * norm.sf(3.5) / norm.sf(3.0)]
    assert ch.p_value(np.array(x), 9, 2).tolist() == pytest.approx(want, rel=1e-12)
    assert ch.p_value(3.5, 9, 2).tolist() == pytest.approx(want[-1:], rel=1e-12)


def test_ties_are_broken_by_a_seeded_uniform_key_added_to_the_lowest_rank():
    """The documented tie-break: key = the tie group's lowest rank + U(0, 1) drawn from
    ``default_rng(SEED)`` for every point (row-major), ranks 1..n in key order. For 5, 3, 5, 5, 3 the
    lowest ranks are 3, 1, 3, 3, 1, so the two 3s take ranks 1-2 and the three 5s ranks 3-5, each
    group in the order of its points' uniforms."""
    ch = _change_module()
    y = np.array([[5.0, 3, 5, 5, 3]])
    u = np.random.default_rng(ch.SEED).random(y.shape)[0]
    want = np.empty(5)
    for group, start in (([1, 4], 1), ([0, 2, 3], 3)):
        for rank, i in enumerate(sorted(group, key=lambda i: u[i]), start=start):
            want[i] = rank
    assert ch._ranks(y)[0].tolist() == want.tolist()
    assert ch._ranks(np.array([[2.0, 1.0, 3.0]]))[0].tolist() == [2.0, 1.0, 3.0]   # no ties: plain ranks
