"""Anhøj run-chart rules, per series and period, vectorised.

References
----------
.. [1] Anhøj J, Olesen AV (2014). "Run charts revisited: a simulation study of run chart
       rules for detection of non-random variation in health care processes."
       PLoS ONE 9(11): e113825. Longest run > round(log2(n)) + 3 (after Schilling 2012);
       number of crossings < the 5th percentile of Binomial(n - 1, 0.5) (after Chen 2010).
.. [2] Anhøj J (2024). qicharts2 0.8.1, ``runs.analysis``: points on the centre line and
       missing points are not useful; excluded points are left out.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from qi_equity.variation import _segments as S


def longest_run_max(n_useful: np.ndarray) -> np.ndarray:
    """Upper bound for the longest run: ``round(log2(n_useful)) + 3`` [1]_ (NaN when n is 0)."""
    n = np.asarray(n_useful, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(n > 0, np.round(np.log2(np.where(n > 0, n, 1))) + 3, np.nan)


def crossings_min(n_useful: np.ndarray) -> np.ndarray:
    """Lower bound for the number of crossings: the 5th percentile of Binomial(n - 1, 0.5) [1]_."""
    n = np.asarray(n_useful, dtype=float)
    out = np.full(n.shape, np.nan)
    ok = n > 0
    if ok.any():
        # R's qbinom applies a small fuzz (p * (1 + 64 * DBL_EPSILON)); 0.05 is far from any
        # CDF step here, so scipy's ppf gives the same integers. Once per distinct n.
        uniq, inv = np.unique(n[ok], return_inverse=True)
        out[ok] = binom.ppf(0.05, np.maximum(uniq - 1, 0), 0.5)[inv]
    return out


def runs_analysis(value: np.ndarray, centre: np.ndarray, include: np.ndarray, seg: np.ndarray, nseg: int):
    """Anhøj statistics per segment.

    Returns a dict of arrays of length ``nseg``: ``n_obs`` (included points),
    ``n_useful`` (included, not missing, not on the centre line), ``longest_run``,
    ``longest_run_max``, ``crossings``, ``crossings_min`` and ``runs_signal``
    (longest run > max, or crossings < min) [1]_ [2]_.
    """
    return runs_result(*runs_counts(value, centre, include, seg, nseg))


def runs_counts(value: np.ndarray, centre: np.ndarray, include: np.ndarray, seg: np.ndarray, nseg: int):
    """``n_obs, n_useful, longest_run, crossings`` per segment (arrays of length ``nseg``), the
    counts :func:`runs_result` judges; segments' counts can be computed apart and joined."""
    L = S.regular(seg, nseg)
    if L:  # signs as int8 (comparisons with NaN are False: a missing point is not useful)
        sign = (value > centre).view(np.int8) - (value < centre).view(np.int8)
        useful = include & (sign != 0)
        n_useful, longest, crossings = _runs_matrix(sign.reshape(nseg, L), useful.reshape(nseg, L))
        n_obs = include.reshape(nseg, L).sum(axis=1, dtype=float)
        return n_obs, n_useful, longest, crossings
    with np.errstate(invalid="ignore"):
        sign = np.sign(value - centre)
    useful = include & np.isfinite(sign) & (sign != 0)
    idx = np.flatnonzero(useful)
    useg, usign = seg[idx], sign[idx]
    breaks = np.ones(len(idx), dtype=bool)
    if len(idx) > 1:
        breaks[1:] = (useg[1:] != useg[:-1]) | (usign[1:] != usign[:-1])
    run_id, run_len = S.run_lengths(breaks)
    n_useful = np.bincount(useg, minlength=nseg).astype(float)
    longest = S.group_max(run_len.astype(float), useg, nseg, fill=0.0)
    n_runs = np.bincount(useg[breaks], minlength=nseg).astype(float)
    crossings = np.maximum(n_runs - 1, 0)
    return np.bincount(seg, weights=include.astype(float), minlength=nseg), n_useful, longest, crossings


def _runs_matrix(sign: np.ndarray, useful: np.ndarray):
    """``n_useful, longest_run, crossings`` of each row of a ``(segments, points)`` layout: the
    useful points of a row in order, a run ending where the sign changes (points that are not
    useful are skipped, as in the flat path). The useful points are taken out row by row (one
    compressed array), so runs and crossings are found in one pass over them."""
    nseg = sign.shape[0]
    per_row = useful.sum(axis=1)
    s = sign[useful]                                   # the useful points' signs, row after row
    m = len(s)
    if not m:
        return per_row.astype(float), np.zeros(nseg), np.zeros(nseg)
    row = np.repeat(np.arange(nseg), per_row)
    new_row = np.empty(m, dtype=bool)
    new_row[0] = True
    np.not_equal(row[1:], row[:-1], out=new_row[1:])
    change = np.empty(m, dtype=bool)
    change[0] = False
    np.not_equal(s[1:], s[:-1], out=change[1:])
    cross = change & ~new_row                          # a sign change within a row is a crossing
    starts = np.flatnonzero(new_row | change)          # each run's first point
    lengths = np.diff(np.append(starts, m))
    run_row = row[starts]
    first_run = np.flatnonzero(np.r_[True, run_row[1:] != run_row[:-1]])
    longest = np.zeros(nseg)
    longest[run_row[first_run]] = np.maximum.reduceat(lengths, first_run)
    return per_row.astype(float), longest, np.bincount(row[cross], minlength=nseg).astype(float)


def runs_result(n_obs, n_useful, longest, crossings) -> dict:
    """The dict :func:`runs_analysis` returns, from the counts :func:`runs_counts` gives: limits
    for each segment's useful points and whether a rule signals [1]_."""
    lmax = longest_run_max(n_useful)
    cmin = crossings_min(n_useful)
    has = n_useful > 0
    longest = np.where(has, longest, np.nan)
    crossings = np.where(has, crossings, np.nan)
    with np.errstate(invalid="ignore"):
        signal = has & ((longest > lmax) | (crossings < cmin))
    return {
        "n_obs": n_obs,
        "n_useful": n_useful,
        "longest_run": longest,
        "longest_run_max": lmax,
        "crossings": crossings,
        "crossings_min": cmin,
        "runs_signal": signal,
    }
