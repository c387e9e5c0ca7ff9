"""Group comparisons against a stated reference group, and summary measures of inequality.

References
----------
.. [1] Newcombe RG (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. Statistics in Medicine 17: 873-890
       (method 10: the hybrid score interval from Wilson limits).
.. [2] Zou GY, Donner A (2008). Construction of confidence limits about effect measures:
       a general approach (MOVER). Statistics in Medicine 27: 1693-1702 (differences of
       rates from their exact/Byar's limits).
.. [3] Katz D, et al. (1978). Obtaining confidence intervals for the risk ratio in cohort
       studies. Biometrics 34: 469-474 (log method for ratios of proportions);
       Rothman KJ, Greenland S (1998). Modern Epidemiology (log method for rate ratios).
.. [4] World Health Organization (2021). Health Equity Assessment Toolkit (HEAT): technical
       notes -- difference, ratio, between-group variance, mean difference from best and
       from mean, Theil index, mean log deviation, population attributable risk and fraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from qi_equity.equity.intervals import poisson_count_ci, wilson


def _intervals(x, n, kind, confidence):
    if kind == "proportion":
        return wilson(x, n, confidence)
    lo, hi = poisson_count_ci(x, confidence)
    return lo / n, hi / n


def compare_groups(data: pd.DataFrame, x: str, n: str, group: str = "group", reference: str | None = None,
                   kind: str = "proportion", confidence: float = 0.95, multiplier: float = 100.0,
                   higher_is_worse: bool = True, by=None) -> pd.DataFrame:
    """Each group's value with its interval, and its difference and ratio to a reference group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group (per ``by``): counts ``x`` out of ``n``.
    x, n, group : str
        Columns.
    reference : str, optional
        The reference group; default the largest group (by ``n``).
    kind : {"proportion", "rate"}
        Wilson intervals and Newcombe differences [1]_, or exact/Byar's intervals and MOVER
        differences [2]_. Ratios use the log method [3]_.
    multiplier : float
        100 for percentages, 1000 for rates per 1,000 (values and differences; not ratios).
    higher_is_worse : bool
        Direction used for ``flag``.

    Returns
    -------
    pandas.DataFrame
        by columns, ``group, x, n, value, lower, upper, reference, difference, difference_lower,
        difference_upper, ratio, ratio_lower, ratio_upper, flag`` where flag is "worse",
        "better" or "similar" (the difference interval includes 0), or "reference"; a row without
        a count (missing or suppressed) or without a denominator has no value and flag "".
    """
    if kind not in ("proportion", "rate"):
        raise ValueError("kind must be 'proportion' or 'rate'")
    by = [by] if isinstance(by, str) else list(by or [])
    out = []
    for key, d in (data.groupby(by, sort=False) if by else [((), data)]):
        d = d.reset_index(drop=True)
        xs = pd.to_numeric(d[x], errors="coerce").to_numpy(float)
        ns = pd.to_numeric(d[n], errors="coerce").to_numpy(float)
        ok = (ns > 0) & np.isfinite(xs)  # a missing (e.g. suppressed) count has no value and no flag
        ref = reference if reference is not None else d.loc[int(np.nanargmax(ns)), group]
        if ref not in set(d[group]):
            raise ValueError(f"reference group {ref!r} not found in column '{group}'")
        ri = int(np.flatnonzero((d[group] == ref).to_numpy())[0])
        p = np.where(ok, xs / np.where(ok, ns, 1), np.nan)
        lo, hi = np.full(len(d), np.nan), np.full(len(d), np.nan)
        if ok.any():
            lo[ok], hi[ok] = _intervals(xs[ok], ns[ok], kind, confidence)
        p2, l2, u2 = p[ri], lo[ri], hi[ri]
        diff = p - p2
        dl = diff - np.sqrt((p - lo) ** 2 + (u2 - p2) ** 2)
        du = diff + np.sqrt((hi - p) ** 2 + (p2 - l2) ** 2)
        z = norm.ppf(1 - (1 - confidence) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = p / p2
            if kind == "proportion":
                se = np.sqrt(1 / xs - 1 / ns + 1 / xs[ri] - 1 / ns[ri])
            else:
                se = np.sqrt(1 / xs + 1 / xs[ri])
            valid = (xs > 0) & (xs[ri] > 0)
            rl = np.where(valid, np.exp(np.log(ratio) - z * se), np.nan)
            ru = np.where(valid, np.exp(np.log(ratio) + z * se), np.nan)
        worse = (dl > 0) if higher_is_worse else (du < 0)
        better = (du < 0) if higher_is_worse else (dl > 0)
        flag = np.where(worse, "worse", np.where(better, "better", "similar")).astype(object)
        flag[ri] = "reference"
        flag[~ok] = ""
        res = pd.DataFrame({"group": d[group], "x": xs, "n": ns, "value": p * multiplier, "lower": lo * multiplier,
                            "upper": hi * multiplier, "reference": ref, "difference": diff * multiplier,
                            "difference_lower": dl * multiplier, "difference_upper": du * multiplier,
                            "ratio": ratio, "ratio_lower": rl, "ratio_upper": ru, "flag": flag})
        res.loc[ri, ["difference_lower", "difference_upper", "ratio_lower", "ratio_upper"]] = np.nan
        for b, v in zip(by, key):  # pandas gives a tuple key when grouping by a list of columns
            res.insert(0, b, v)
        out.append(res)
    return pd.concat(out, ignore_index=True)


def _heat_point(y, p, mu_fixed, iref, higher_is_better):
    """The nine measures for estimates ``y`` (rows: draws) -- shared by the estimate and the
    simulation. The setting average is recomputed from each draw unless ``mu_fixed``; PAR's
    reference is group ``iref``, or the best group of each draw when None."""
    y = np.atleast_2d(y)
    mu = (y * p).sum(axis=1) if mu_fixed is None else np.full(len(y), mu_fixed)
    best = y.max(axis=1) if higher_is_better else y.min(axis=1)
    yref = best if iref is None else y[:, iref]
    r = y / mu[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "D": y.max(axis=1) - y.min(axis=1),
            "R": np.where(y.min(axis=1) > 0, y.max(axis=1) / y.min(axis=1), np.nan),
            "BGV": (p * (y - mu[:, None]) ** 2).sum(axis=1),
            "MDB": (p * np.abs(y - best[:, None])).sum(axis=1),
            "MDM": (p * np.abs(y - mu[:, None])).sum(axis=1),
            "TI": (p * r * np.log(r)).sum(axis=1),
            "MLD": (p * -np.log(r)).sum(axis=1),
            "PAR": yref - mu,
        }
    out["PAF"] = 100 * out["PAR"] / mu
    return out


def summary_measures(data: pd.DataFrame, value: str = "value", population: str = "population",
                     group: str = "group", higher_is_better: bool = False, reference: str | None = None,
                     setting_average: float | None = None, se: str | None = None, confidence: float = 0.95,
                     reps: int = 10_000, seed: int | None = 20261202) -> pd.DataFrame:
    """WHO HEAT summary measures of inequality for an unordered dimension (e.g. ethnicity) [4]_,
    with confidence intervals when the groups' standard errors are given.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group: the group's estimate ``value`` and its ``population`` (weight).
    higher_is_better : bool
        Whether higher values are favourable (decides the best group and PAR's sign).
    reference : str, optional
        Reference group for PAR; default the best-performing group.
    setting_average : float, optional
        The overall average; default the population-weighted mean of the groups.
    se : str, optional
        Column of each group's standard error. Without it the intervals are NaN.
    confidence : float
        Level of the intervals.
    reps, seed : int
        Draws of the simulated intervals and their seed.

    Returns
    -------
    pandas.DataFrame
        ``measure, value, lower, upper, ci_method, definition`` for ``D`` (max - min), ``R``
        (max / min), ``BGV`` (sum p_j (y_j - mu)^2), ``MDB`` (sum p_j |y_j - y_best|), ``MDM``
        (sum p_j |y_j - mu|), ``TI`` (Theil: sum p_j r_j ln r_j, r_j = y_j / mu), ``MLD``
        (sum p_j (-ln r_j)), ``PAR`` (y_ref - mu) and ``PAF`` (100 x PAR / mu); p_j are
        population shares.

    Notes
    -----
    Intervals follow the HEAT technical notes and WHO's HEAT measures code (HEAT-Measures,
    ``calc_*``): **analytic** (normal, from a delta-method standard error) for D
    (``sqrt(se_max^2 + se_min^2)``), R (on the log scale, ``se_R = sqrt(se_max^2 + R^2 se_min^2) /
    y_min``, limits ``exp(ln R +/- z se_R / R)``), BGV (``sqrt(4 sum p^2 se^2 (y - mu)^2 +
    2 ((sum p^2 se^2)^2 - sum p^4 se^4 + sum p^2 (1 - p)^2 se^4))``), TI (``sqrt(sum (1 + ln r_j -
    sum_k p_k r_k (1 + ln r_k))^2 p_j^2 se_j^2 / mu^2)``) and MLD (``sqrt(sum p_j^2 se_j^2 (1 - 1 /
    r_j)^2 / mu^2)``); **simulated** (each group drawn from a normal with its standard error,
    the measure recomputed, percentiles taken) for MDB and MDM, which have no analytic form,
    and here also for PAR and PAF, which HEAT bounds analytically only for prevalences from a
    2 x 2 table (the simulation holds for any indicator). HEAT reports TI and MLD x 1000; they
    are unscaled here.
    """
    y = pd.to_numeric(data[value], errors="coerce").to_numpy(float)
    w = pd.to_numeric(data[population], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(y)) or np.any(~(w > 0)):
        raise ValueError(f"every group needs a value and a positive {population}")
    p = w / w.sum()
    mu = float(np.sum(p * y)) if setting_average is None else float(setting_average)
    iref = None  # PAR's reference: the best group unless one is named
    if reference is not None:
        if reference not in set(data[group]):
            raise ValueError(f"reference group {reference!r} not found")
        iref = int(np.flatnonzero((data[group] == reference).to_numpy())[0])
    point = {k: float(v[0]) for k, v in _heat_point(y, p, mu, iref, higher_is_better).items()}
    lower = dict.fromkeys(point, np.nan)
    upper = dict.fromkeys(point, np.nan)
    method = dict.fromkeys(point, "")
    if se is not None:
        s = pd.to_numeric(data[se], errors="coerce").to_numpy(float)
        if np.any(~(s >= 0)):
            raise ValueError(f"column '{se}': {int((~(s >= 0)).sum())} group(s) without a standard error of 0 or more")
        z = float(norm.ppf(1 - (1 - confidence) / 2))
        imax, imin = int(np.argmax(y)), int(np.argmin(y))
        r = y / mu
        R = point["R"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ses = {
                "D": np.sqrt(s[imax] ** 2 + s[imin] ** 2),
                "BGV": np.sqrt(4 * np.sum(p ** 2 * s ** 2 * (y - mu) ** 2)
                               + 2 * (np.sum(p ** 2 * s ** 2) ** 2 - np.sum(p ** 4 * s ** 4)
                                      + np.sum(p ** 2 * (1 - p) ** 2 * s ** 4))),
                "TI": np.sqrt(np.sum((1 + np.log(r) - np.sum(p * r * (1 + np.log(r)))) ** 2 * p ** 2 * s ** 2 / mu ** 2)),
                "MLD": np.sqrt(np.sum(p ** 2 * s ** 2 * (1 - 1 / r) ** 2 / mu ** 2)),
            }
            for k, e in ses.items():
                lower[k], upper[k], method[k] = point[k] - z * e, point[k] + z * e, "analytic"
            if np.isfinite(R):
                se_r = np.sqrt(s[imax] ** 2 + R ** 2 * s[imin] ** 2) / y[imin]
                lower["R"], upper["R"] = np.exp(np.log(R) - z * se_r / R), np.exp(np.log(R) + z * se_r / R)
                method["R"] = "analytic"
        rng = np.random.default_rng(seed)
        draws = y[None, :] + rng.standard_normal((reps, len(y))) * s[None, :]
        sim = _heat_point(draws, p, None if setting_average is None else mu, iref, higher_is_better)
        q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
        for k in ("MDB", "MDM", "PAR", "PAF"):
            lower[k], upper[k] = np.nanquantile(sim[k], q)
            method[k] = f"simulated ({reps:,} draws)"
    defs = {
        "D": "highest minus lowest group",
        "R": "highest divided by lowest group",
        "BGV": "between-group variance",
        "MDB": "mean difference from the best group (weighted)",
        "MDM": "mean difference from the mean (weighted)",
        "TI": "Theil index",
        "MLD": "mean log deviation",
        "PAR": "population attributable risk: reference minus average",
        "PAF": "population attributable fraction (%)",
    }
    return pd.DataFrame([(k, point[k], lower[k], upper[k], method[k], defs[k]) for k in defs],
                        columns=["measure", "value", "lower", "upper", "ci_method", "definition"])
