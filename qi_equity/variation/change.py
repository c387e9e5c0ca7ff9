"""Has a series changed level? A calibrated test for many series at once.

Making Data Count's rules are read by eye on one chart; a scan that reads hundreds of charts
needs each signal as a p-value, so that the false discovery rate across them can be
controlled. Each series (a row of a matrix, one column per period, no gaps) is tested for a
**sustained change in level** -- what an MDC shift or trend shows -- with the maximum, over
every split point leaving at least ``min_segment`` points on each side, of the standardised
difference between the mean *rank* after and before the split (a max-type Mann-Whitney
statistic, Pettitt 1979; the parametric version is Hawkins 1977) [1]_ [2]_ [3]_.

Ranks make the test distribution-free: under a stable process of independent points (any
distribution) every ordering is equally likely, and each split's statistic is standardised
exactly under that permutation null (ties broken at random with a fixed seed). The
null distribution of the maximum is simulated once per series length, with a fixed seed;
beyond the simulated range the tail is a normal tail scaled to meet the simulation. On
binomial series with as few as 4 expected events a period, and on medians of 10 skewed
waits, p-values are calibrated to within simulation error down to 1e-4
(``tests/variation/test_change.py``); a test on moving-range sigma was not (2-17 times too
many false alarms at 1e-3 on the same series), nor a test of a single extreme point.

Flow measures (completions, first appointments by month) are close to independent month to
month; snapshot measures are not, and must not be tested here.

References
----------
.. [1] Pettitt AN (1979). A non-parametric approach to the change-point problem. Applied
       Statistics 28(2): 126-135.
.. [2] Hawkins DM (1977). Testing a sequence of observations for a shift in location. JASA
       72: 180-186.
.. [3] Worsley KJ (1979). On the likelihood ratio test for a shift in location of normal
       populations. JASA 74: 365-367.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

N_SIM = 200_000
SEED = 20261202
TAIL_COUNT = 25  # below this many simulated exceedances, the fitted tail takes over
#: The null distribution's upper tail for the series the scan tests (36 monthly and 18 two-monthly
#: points), from 10 million simulated series each (:func:`write_null_table`): simulating 200,000
#: in a process gives the 99.9% point only to about 1.5%, 30% in a p-value near 1e-3.
NULL_TABLE = Path(__file__).with_name("change_null.npz")
TABLE_SIMS = 10_000_000
TABLE_P = np.logspace(0, -5.6, 400)  # upper-tail probabilities tabulated (down to 25 in 10 million)
STAT_DECIMALS = 9  # the statistic's rounding, so that tied values are equal floats


def _ranks(y: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each row, ties broken at random (a fixed seed, so reruns agree).

    Under a stable process every ordering is equally likely; breaking ties by an independent
    random key keeps it so, and the ranks are then a uniform permutation whatever the values'
    distribution -- exactly the simulated null. (Average ranks of heavily tied series, such as
    monthly medians of whole days, make the far tail too liberal: 3-6 times the nominal rate at
    1e-3 to 1e-4 with 7 distinct values.)
    """
    key = rankdata(y, axis=1, method="min") + np.random.default_rng(SEED).random(y.shape)
    order = np.argsort(key, axis=1, kind="stable")
    r = np.empty_like(order)
    np.put_along_axis(r, order, np.arange(1, y.shape[1] + 1)[None, :].repeat(y.shape[0], axis=0), axis=1)
    return r.astype(float)


def _step_statistic(y: np.ndarray, min_segment: int) -> tuple[np.ndarray, np.ndarray]:
    """Max |standardised rank-mean difference| over splits, and the split (points before it).

    The statistic is a function of ranks, so it takes few distinct values, and the same value
    reached by different splits or series differs in its last bits (rounding in the cumulative
    sums and divisions). It is rounded to 9 decimals (:data:`STAT_DECIMALS`) so that equal values
    are equal floats: otherwise P(S >= q) counted in the table would miss part of the simulated
    series tied at q (up to 4% of a p-value near 0.01, on the liberal side)."""
    s, n = y.shape
    r = _ranks(y)
    v = np.full(s, (n * n - 1) / 12.0) * n / (n - 1)
    c = np.cumsum(r, axis=1)
    k = np.arange(min_segment, n - min_segment + 1)
    before = c[:, k - 1] / k
    after = (c[:, -1:] - c[:, k - 1]) / (n - k)
    # every split leaves at least one point each side (min_segment >= 1), so nothing divides by 0
    z = (after - before) / np.sqrt(v[:, None] * (1.0 / k + 1.0 / (n - k)))
    j = np.argmax(np.abs(z), axis=1)
    return np.round(np.abs(z[np.arange(s), j]), STAT_DECIMALS), k[j]


@lru_cache(maxsize=16)
def null_distribution(n: int, min_segment: int, n_sim: int = N_SIM) -> np.ndarray:
    """Sorted simulated null values of the statistic for series of ``n`` points."""
    rng = np.random.default_rng([SEED, n, min_segment])
    parts = []
    for start in range(0, n_sim, 50_000):
        m = min(50_000, n_sim - start)
        parts.append(_step_statistic(rng.standard_normal((m, n)), min_segment)[0])
    return np.sort(np.concatenate(parts))


@lru_cache(maxsize=1)
def _table() -> dict:
    if not NULL_TABLE.exists():
        return {}
    with np.load(NULL_TABLE) as z:
        return {k: z[k] for k in z.files}


def write_null_table(path: str | Path = NULL_TABLE, shapes=((36, 4), (18, 3)), n_sim: int = TABLE_SIMS) -> Path:
    """Tabulate the null's upper tail (statistic at each of ``TABLE_P``) for each (points,
    min_segment), from ``n_sim`` simulated series with fixed seeds; written to ``path``."""
    out = {"p": TABLE_P}
    for n, k in shapes:
        rng = np.random.default_rng([SEED, n, k, 1])
        parts = []
        for start in range(0, n_sim, 100_000):
            parts.append(_step_statistic(rng.standard_normal((min(100_000, n_sim - start), n)), k)[0])
        stats = np.sort(np.concatenate(parts))
        q = np.unique(np.quantile(stats, 1 - TABLE_P))
        out[f"n{n}_k{k}"] = q
        # P(S >= q) exactly as simulated: the statistic is discrete (ranks), so a quantile alone
        # would understate the probability of its own value
        out[f"n{n}_k{k}_p"] = (len(stats) - np.searchsorted(stats, q, side="left")) / len(stats)
    np.savez_compressed(path, **out)
    _table.cache_clear()
    return Path(path)


def p_value(statistic, n: int, min_segment: int) -> np.ndarray:
    """Upper-tail p-value of the statistic for series of ``n`` points: from the shipped table when
    it covers ``n`` (the simulated P(S >= q) at the largest tabulated q at or below the statistic --
    conservative by at most the grid's 3% step -- and a scaled normal tail beyond the table), else
    from a simulation in this process."""
    x = np.atleast_1d(np.asarray(statistic, float))
    table = _table()
    key = f"n{n}_k{min_segment}"
    if key in table:
        q, pge = table[key], table[key + "_p"]
        j = np.searchsorted(q, x, side="right") - 1  # the largest tabulated value at or below x
        p = np.where(j >= 0, pge[np.clip(j, 0, len(q) - 1)], 1.0)  # P(S >= that value) >= P(S >= x)
        beyond = x > q[-1]
        p[beyond] = pge[-1] * norm.sf(x[beyond]) / norm.sf(q[-1])
        return np.minimum(p, 1.0)
    null = null_distribution(n, min_segment)
    m = len(null)
    exceed = m - np.searchsorted(null, x, side="left")
    p = (exceed + 1.0) / (m + 1.0)
    s0 = null[m - TAIL_COUNT]
    p0 = (TAIL_COUNT + 1.0) / (m + 1.0)
    tail = exceed < TAIL_COUNT
    p[tail] = np.minimum(p0, p0 * norm.sf(x[tail]) / norm.sf(s0))
    return p


def min_segment_for(n: int, grain_months: int = 1) -> int:
    """Fewest points each side of a change: four months at a monthly grain, else three periods."""
    return 4 if grain_months == 1 else 3


def change_test(values, min_segment: int = 4, dates=None) -> pd.DataFrame:
    """Test each series (row) for a sustained change in level.

    Parameters
    ----------
    values : array-like, shape (series, points)
        Complete series (no missing points), oldest first, all the same length.
    min_segment : int
        Fewest points on each side of the change.
    dates : sequence, optional
        The periods' dates (for ``change_from``).

    Returns
    -------
    pandas.DataFrame
        One row per series: ``statistic`` (max |Z| of the rank-mean difference) and ``p_value``;
        ``change_at`` (index of the first point after the change) and ``change_from`` (its date);
        on the values' own scale ``mean_before``, ``mean_after``, ``shift`` (after minus before)
        and ``shift_se`` (Welch: sqrt(s1^2/n1 + s2^2/n2), not allowing for the choice of split);
        ``direction`` (+1 the level went up, -1 down).
    """
    y = np.atleast_2d(np.asarray(values, dtype=float))
    s, n = y.shape
    if not np.isfinite(y).all():
        raise ValueError("change_test needs complete series: no missing points")
    if int(min_segment) != min_segment or min_segment < 1:
        raise ValueError(f"min_segment must be a whole number of points, at least 1, not {min_segment!r}")
    if n < 2 * min_segment:
        raise ValueError(f"series of {n} points are too short for a change with {min_segment} points each side")
    stat, split = _step_statistic(y, min_segment)
    p = p_value(stat, n, min_segment)
    idx = np.arange(n)
    after_mask = idx[None, :] >= split[:, None]
    n2 = (n - split).astype(float)
    n1 = split.astype(float)
    before = np.where(~after_mask, y, 0).sum(axis=1) / n1
    after = np.where(after_mask, y, 0).sum(axis=1) / n2
    v1 = np.where(~after_mask, (y - before[:, None]) ** 2, 0).sum(axis=1) / np.maximum(n1 - 1, 1)
    v2 = np.where(after_mask, (y - after[:, None]) ** 2, 0).sum(axis=1) / np.maximum(n2 - 1, 1)
    out = pd.DataFrame({"statistic": stat, "p_value": p, "change_at": split, "mean_before": before,
                        "mean_after": after, "shift": after - before, "shift_se": np.sqrt(v1 / n1 + v2 / n2),
                        "direction": np.sign(after - before).astype(int)})
    if dates is not None:
        d = pd.DatetimeIndex(pd.to_datetime(list(dates)))
        out.insert(3, "change_from", d[split])
    return out
