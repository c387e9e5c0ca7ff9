"""Confidence intervals for proportions and rates (the PHE / OHID methods), vectorised.

References
----------
.. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. J Am Stat Assoc 22: 209-212.
.. [2] Public Health England (2018). "Technical Guide: Confidence Intervals" (Wilson score
       for proportions; exact Poisson below 10 events, Byar's approximation from 10).
.. [3] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol II, IARC
       (Byar's approximation, p. 69).
.. [4] Fox S, et al. PHEindicatormethods 2.0.2 (``phe_proportion``, ``phe_rate``), R package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm


def _z(confidence: float) -> float:
    return float(norm.ppf(1 - (1 - confidence) / 2))


def _check(x, n):
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(n <= 0):
        raise ValueError("x must be >= 0 and n > 0")
    return x, n


def wilson(x, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion x / n [1]_ [2]_; bounds as proportions."""
    x, n = _check(x, n)
    if np.any(x > n):
        raise ValueError("x must not exceed n")
    z = _z(confidence)
    p = x / n
    centre = 2 * x + z * z
    half = z * np.sqrt(z * z + 4 * x * (1 - p))
    den = 2 * (n + z * z)
    return (centre - half) / den, (centre + half) / den


def byars(x, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximate limits for a Poisson count, at any size [3]_."""
    x = np.asarray(x, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        hi = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    return lo, hi


def poisson_count_ci(x, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a Poisson count: exact (chi-squared) below 10 events, Byar's from 10 [2]_ [3]_."""
    x = np.asarray(x, dtype=float)
    a = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        ex_lo = np.where(x > 0, chi2.ppf(a / 2, 2 * x) / 2, 0.0)
        ex_hi = chi2.ppf(1 - a / 2, 2 * (x + 1)) / 2
    by_lo, by_hi = byars(x, confidence)
    exact = x < 10
    return np.where(exact, ex_lo, by_lo), np.where(exact, ex_hi, by_hi)


def proportion_ci(x, n, confidence: float = 0.95, multiplier: float = 1) -> pd.DataFrame:
    """Proportions with Wilson score intervals (the PHE method) [1]_ [2]_ [4]_.

    Parameters
    ----------
    x, n : array-like
        Numerators and denominators (0 <= x <= n, n > 0).
    confidence : float
        0.95 or 0.998 (any value in (0, 1) works).
    multiplier : float
        1 for proportions, 100 for percentages.

    Returns
    -------
    pandas.DataFrame
        ``x, n, value, lower, upper, confidence, method`` (method "Wilson").
    """
    x, n = _check(x, n)
    lo, hi = wilson(x, n, confidence)
    return pd.DataFrame({"x": x, "n": n, "value": x / n * multiplier, "lower": lo * multiplier,
                         "upper": hi * multiplier, "confidence": confidence, "method": "Wilson"})


def rate_ci(x, n, confidence: float = 0.95, multiplier: float = 1000) -> pd.DataFrame:
    """Rates x / n x multiplier with exact Poisson (x < 10) or Byar's (x >= 10) intervals [2]_ [3]_ [4]_.

    Returns
    -------
    pandas.DataFrame
        ``x, n, value, lower, upper, confidence, method`` (method "Exact" or "Byars").
    """
    x, n = _check(x, n)
    lo, hi = poisson_count_ci(x, confidence)
    return pd.DataFrame({"x": x, "n": n, "value": x / n * multiplier, "lower": lo / n * multiplier,
                         "upper": hi / n * multiplier, "confidence": confidence,
                         "method": np.where(x < 10, "Exact", "Byars")})
