"""Gaps between a group and its reference: sizes with intervals, and tests of a *material* gap.

An equity scan compares hundreds of groups with their references. A gap is worth a finding
when it is both beyond chance and big enough to matter, so each comparison here tests the
null hypothesis "the group is worse off by no more than the minimum important gap" (a
ratio ``margin``, e.g. 1.25: at most 25% worse) against "worse by more than that" -- a
one-sided minimum-effect test (the mirror of a non-inferiority test), whose p-values feed
the false-discovery control of the scan. A mild gradient (say 10% worse) is then not a
finding however large the provider, while a gap confidently beyond the margin is.

Medians (waits) use Bonett and Price's distribution-free standard errors [1]_; proportions
(DNA, over 18 weeks, removals) the Newcombe hybrid-score interval for a difference [2]_ and
the log (Katz) method for a ratio [3]_. All functions are vectorised over many comparisons.

References
----------
.. [1] Bonett DG, Price RM (2002). Statistical inference for a linear function of medians:
       confidence intervals, hypothesis testing, and sample size requirements. Psychological
       Methods 7(3): 370-383 (as implemented in the R package statpsych: ``ci.median2``,
       ``ci.ratio.median2``, ``ci.lc.median.bs``).
.. [2] Newcombe RG (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. Statistics in Medicine 17: 873-890 (method 10).
.. [3] Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence intervals for the risk
       ratio in cohort studies. Biometrics 34: 469-474.
.. [4] Wellek S (2010). Testing Statistical Hypotheses of Equivalence and Noninferiority, 2nd
       ed. Chapman & Hall/CRC (one-sided tests against a margin).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom, norm

from qi_equity.equity.intervals import wilson


def _z(confidence: float) -> float:
    return float(norm.ppf(1 - (1 - confidence) / 2))


def median_runs(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """Median and its Bonett-Price standard error for runs of sorted values [1]_.

    Parameters
    ----------
    values : array
        Values sorted within each run (e.g. the waits of each group, sorted).
    starts, counts : arrays
        Where each run starts in ``values`` and how many values it has.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``n``, ``median`` (the middle value, or the mean of the two middle
        values), ``se`` (``(y[n-a+1] - y[a]) / (2 z0)`` with ``a = round(n/2 - sqrt(n))`` (at
        least 1) and ``z0`` the normal quantile of the exact binomial coverage of that order
        statistic interval), ``se_log`` (the same on log values; NaN when the lower order
        statistic is not positive). Runs of fewer than 3 values have no standard error.
    """
    values = np.asarray(values, float)
    starts = np.asarray(starts, np.int64)
    n = np.asarray(counts, np.int64)
    ok = n > 0
    safe_n = np.where(ok, n, 1)
    lo_mid = starts + (safe_n - 1) // 2
    hi_mid = starts + safe_n // 2
    med = np.where(ok, (values[np.minimum(lo_mid, len(values) - 1)] + values[np.minimum(hi_mid, len(values) - 1)]) / 2
                   if len(values) else np.nan, np.nan)
    a = np.maximum(np.round(safe_n / 2 - np.sqrt(safe_n)), 1).astype(np.int64)
    last = max(len(values) - 1, 0)
    lo = values[np.clip(starts + a - 1, 0, last)] if len(values) else np.full(len(n), np.nan)
    hi = values[np.clip(starts + safe_n - a, 0, last)] if len(values) else np.full(len(n), np.nan)
    p = binom.cdf(a - 1, safe_n, 0.5)
    z0 = norm.isf(p)
    usable = ok & (n >= 3)  # z0 > 1.1 from 3 values on (and tends to 2), so se is finite
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(usable, (hi - lo) / (2 * z0), np.nan)
        se_log = np.where(usable & (lo > 0), (np.log(np.where(hi > 0, hi, 1)) - np.log(np.where(lo > 0, lo, 1)))
                          / (2 * z0), np.nan)
    return pd.DataFrame({"n": n, "median": med, "se": se, "se_log": se_log})


def median_summary(samples) -> pd.DataFrame:
    """:func:`median_runs` for a list of samples (each any sequence of numbers; missing dropped)."""
    arrays = [np.sort(np.asarray(pd.to_numeric(pd.Series(s), errors="coerce").dropna(), float)) for s in samples]
    counts = np.array([len(a) for a in arrays], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, np.int64)
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    return median_runs(values, starts, counts)


def median_gap(m1, se1, m2, se2, se_log1=None, se_log2=None, margin: float = 1.0, confidence: float = 0.95,
               higher_is_worse: bool = True) -> pd.DataFrame:
    """Gap between two medians (group 1 minus reference 2) [1]_.

    Parameters
    ----------
    m1, se1, m2, se2 : arrays
        Medians and Bonett-Price standard errors (:func:`median_runs`).
    se_log1, se_log2 : arrays, optional
        Standard errors of the log medians, for the ratio's interval.
    margin : float
        Minimum important ratio: the test's null hypothesis is that the group is worse off by a
        ratio of at most ``margin`` (``m1 <= margin * m2`` when higher is worse), tested as
        Bonett and Price's linear contrast ``m1 - margin * m2`` with standard error
        ``sqrt(se1**2 + margin**2 * se2**2)``.

    Returns
    -------
    pandas.DataFrame
        ``difference, difference_lower, difference_upper`` (at ``confidence``), ``ratio,
        ratio_lower, ratio_upper`` (log method; NaN without log standard errors), ``z`` (the
        contrast over its standard error, oriented so positive is worse) and ``p_value``
        (one-sided).
    """
    m1, se1, m2, se2 = (np.atleast_1d(np.asarray(v, float)) for v in (m1, se1, m2, se2))
    z = _z(confidence)
    diff = m1 - m2
    se_d = np.sqrt(se1 ** 2 + se2 ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if higher_is_worse:  # worse by more than the margin: m1 > margin * m2
            stat = (m1 - margin * m2) / np.sqrt(se1 ** 2 + margin ** 2 * se2 ** 2)
        else:  # lower is worse: m2 > margin * m1
            stat = (m2 - margin * m1) / np.sqrt(se2 ** 2 + margin ** 2 * se1 ** 2)
        ratio = np.where(m2 > 0, m1 / m2, np.nan)
        if se_log1 is not None and se_log2 is not None:
            sl = np.sqrt(np.asarray(se_log1, float) ** 2 + np.asarray(se_log2, float) ** 2)
            lr = np.log(ratio)
            rl, ru = np.exp(lr - z * sl), np.exp(lr + z * sl)
        else:
            rl = ru = np.full(len(diff), np.nan)
    p = np.where(np.isfinite(stat), norm.sf(stat), np.nan)
    return pd.DataFrame({"difference": diff, "difference_lower": diff - z * se_d, "difference_upper": diff + z * se_d,
                         "ratio": ratio, "ratio_lower": rl, "ratio_upper": ru, "z": stat, "p_value": p})


def proportion_gap(x1, n1, x2, n2, margin: float = 1.0, confidence: float = 0.95,
                   higher_is_worse: bool = True) -> pd.DataFrame:
    """Gap between two proportions (group 1 minus reference 2).

    The difference has the Newcombe hybrid-score interval [2]_ and the ratio the log-method
    interval [3]_. The test is one-sided on the log ratio against ``log(margin)`` [4]_:
    ``z = (log(p1 / p2) - log(margin)) / se`` with ``se = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``
    (0.5 added to both counts of a comparison with a zero count, Haldane's correction).

    Returns
    -------
    pandas.DataFrame
        ``value, value_reference`` (proportions), ``difference, difference_lower,
        difference_upper``, ``ratio, ratio_lower, ratio_upper``, ``z`` (positive = worse) and
        ``p_value`` (one-sided). Proportions, not percentages.
    """
    x1, n1, x2, n2 = (np.atleast_1d(np.asarray(v, float)) for v in (x1, n1, x2, n2))
    z = _z(confidence)
    ok = (n1 > 0) & (n2 > 0)
    nn1, nn2 = np.where(ok, n1, 1), np.where(ok, n2, 1)
    p1, p2 = x1 / nn1, x2 / nn2
    l1, u1 = wilson(np.minimum(x1, nn1), nn1, confidence)
    l2, u2 = wilson(np.minimum(x2, nn2), nn2, confidence)
    diff = p1 - p2
    dl = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    du = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    zero = (x1 == 0) | (x2 == 0)
    c = np.where(zero, 0.5, 0.0)
    a, b = x1 + c, x2 + c
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log((a / (nn1 + 2 * c)) / (b / (nn2 + 2 * c)))
        se = np.sqrt(1 / a - 1 / (nn1 + 2 * c) + 1 / b - 1 / (nn2 + 2 * c))
        ratio = np.where(p2 > 0, p1 / p2, np.nan)
        rl = np.where(~zero, np.exp(np.log(ratio) - z * se), np.nan)
        ru = np.where(~zero, np.exp(np.log(ratio) + z * se), np.nan)
        stat = (lr - np.log(margin)) / se if higher_is_worse else (-lr - np.log(margin)) / se
    stat = np.where(ok, stat, np.nan)
    p = np.where(np.isfinite(stat), norm.sf(stat), np.nan)
    nan = ~ok
    return pd.DataFrame({"value": np.where(nan, np.nan, p1), "value_reference": np.where(nan, np.nan, p2),
                         "difference": np.where(nan, np.nan, diff), "difference_lower": np.where(nan, np.nan, dl),
                         "difference_upper": np.where(nan, np.nan, du), "ratio": ratio, "ratio_lower": rl,
                         "ratio_upper": ru, "z": stat, "p_value": p})
