"""Slope and relative index of inequality across deprivation quantiles (the PHE/OHID method).

Quantiles are ordered from 1 (most deprived) upwards. Each quantile's relative rank is the
midpoint of its range in the cumulative population share; a weighted least-squares line
``y * sqrt(a) = b0 * sqrt(a) + b1 * rank * sqrt(a)`` (a = population share) is fitted to
the quantiles' values. The SII is the difference between the fitted values at rank 1 and
rank 0 (the whole social gradient); the RII is their ratio. With a transform (logit for
proportions, log for rates) the line is fitted on the transformed scale and the fitted
values are transformed back before the difference and ratio are taken. Confidence
intervals are simulated as PHE does: each quantile's value is drawn from a normal
distribution on the logit (proportions) or log (rates) scale with the standard error its
95% limits give there, taken back to the fitting scale, the line refitted, and the
percentiles of the simulated SIIs and RIIs taken -- so a small quantile never draws a
negative proportion or rate.

References
----------
.. [1] Low A, Low A (2004). Measuring the gap: quantifying and comparing local health
       inequalities. Journal of Public Health 26: 388-395.
.. [2] Office for Health Improvement and Disparities / PHE. PHEindicatormethods 2.0.2,
       ``phe_sii`` (relative ranks, weighting, transforms, simulation intervals, SE from
       95% limits as (upper - lower) / (2 x 1.96)).
.. [3] PHE (2018). Technical Guide: Confidence Intervals (Wilson and Byar's limits used
       here when the quantiles' limits are not supplied).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from qi_equity.equity.intervals import poisson_count_ci, wilson

_FWD = {"none": lambda v: v, "logit": logit, "log": np.log}
_BACK = {"none": lambda v: v, "logit": expit, "log": np.exp}


def relative_rank(population) -> np.ndarray:
    """Midpoint of each quantile in the cumulative population share [1]_."""
    a = np.asarray(population, dtype=float)
    a = a / a.sum()
    return np.cumsum(a) - a / 2


def _fit(values_t: np.ndarray, sqrt_a: np.ndarray, rank: np.ndarray):
    """Weighted LS coefficients (b0, b1) for each row of ``values_t`` (shape reps x k)."""
    X = np.c_[sqrt_a, rank * sqrt_a]
    H = np.linalg.pinv(X)  # 2 x k
    return (values_t * sqrt_a) @ H.T  # reps x 2


def sii(data: pd.DataFrame, quantile: str = "quantile", population: str = "population",
        value: str | None = "value", x: str | None = None, lower: str | None = None, upper: str | None = None,
        se: str | None = None, kind: str = "normal", transform: bool = False, multiplier: float = 1.0,
        confidence=(0.95, 0.998), reps: int = 100_000, seed: int | None = 20240601,
        rate_multiplier: float = 1.0, by=None) -> pd.DataFrame:
    """SII and RII with simulated confidence intervals, for one or more series.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per quantile (per ``by`` group). Quantile 1 = most deprived.
    quantile, population : str
        Columns: quantile number and its population (denominator).
    value : str, optional
        Indicator value per quantile. If missing and ``x`` is given, value = x / population
        (x rate_multiplier for rates).
    x : str, optional
        Numerator (count) per quantile.
    lower, upper : str, optional
        95% confidence limits of each value (for the standard errors). When neither these
        nor ``se`` are given they are computed from ``x`` and ``population``: Wilson for
        proportions, exact/Byar's for rates [3]_.
    se : str, optional
        Standard error of each value: on the logit scale for proportions and the log scale
        for rates (where PHE draws), on the value's own scale otherwise.
    kind : {"normal", "proportion", "rate"}
        Indicator type; selects the transform (logit for proportions, log for rates).
    transform : bool
        Fit on the transformed scale.
    multiplier : float
        Multiplies the SII (negative reverses polarity and inverts the RII, as PHE).
    confidence : float or sequence
        Levels of the simulated intervals.
    reps : int
        Simulations (>= 1000).
    seed : int or None
        Seed of the simulation (numpy's default generator: intervals are reproducible here but
        are not the same draws as R's).
    rate_multiplier : float
        For rates computed from ``x``: per this many people (e.g. 1000).
    by : list of str, optional
        Columns identifying separate series.

    Returns
    -------
    pandas.DataFrame
        One row per series: by columns, ``n_quantiles, sii, rii, intercept`` (the fitted value
        at rank 0, as PHE's ``intercept = TRUE``), and for each level ``sii_lower95_0,
        sii_upper95_0, rii_lower95_0, rii_upper95_0`` (99.8% as ``..99_8``), ``transform``
        (the fitting scale), ``simulated_on`` (the scale of the draws: logit for proportions,
        log for rates, as PHE, unless a quantile's value or limit is 0 or 1), ``kind, reps``.
    """
    if kind not in ("normal", "proportion", "rate"):
        raise ValueError("kind must be 'normal', 'proportion' or 'rate'")
    if reps < 1000:
        raise ValueError("reps must be at least 1000")
    tname = "none" if not transform else {"proportion": "logit", "rate": "log", "normal": "none"}[kind]
    levels = list(np.atleast_1d(confidence))
    by = [by] if isinstance(by, str) else list(by or [])
    rng = np.random.default_rng(seed)
    rows = []
    groups = data.groupby(by, sort=False) if by else [((), data)]
    for key, d in groups:
        d = d.sort_values(quantile)
        pop = pd.to_numeric(d[population], errors="coerce").to_numpy(float)
        if np.any(~(pop > 0)):
            raise ValueError(f"column '{population}': {int((~(pop > 0)).sum())} quantile(s) have no population")
        k = len(d)
        if not 5 <= k <= 100:
            raise ValueError(f"SII needs 5 to 100 quantiles; got {k}")
        if value and value in d and d[value].notna().all():
            v = d[value].to_numpy(float)
        elif x:
            v = d[x].to_numpy(float) / pop * (rate_multiplier if kind == "rate" else 1)
        else:
            raise ValueError("give value= or x=")
        if se:
            se_t = d[se].to_numpy(float)
        else:
            if lower and upper:
                lo, hi = d[lower].to_numpy(float), d[upper].to_numpy(float)
            elif x and kind == "proportion":
                lo, hi = wilson(d[x].to_numpy(float), pop, 0.95)
            elif x and kind == "rate":
                lo, hi = poisson_count_ci(d[x].to_numpy(float), 0.95)
                lo, hi = lo / pop * rate_multiplier, hi / pop * rate_multiplier
            else:
                raise ValueError("give se=, or lower= and upper=, or x= with kind proportion or rate")
        # PHE [2]_: a proportion's or a rate's standard error comes from its limits on the logit /
        # log scale and the simulation draws there, whether or not the line is fitted there; a
        # quantile at 0 (or a proportion at 1) has no such scale and the series is simulated raw
        sim_scale = {"proportion": "logit", "rate": "log"}.get(kind, "none")
        with np.errstate(divide="ignore", invalid="ignore"):
            finite = np.isfinite(_FWD[sim_scale](v)).all()
            if not se:
                finite &= bool(np.isfinite(_FWD[sim_scale](lo)).all() and np.isfinite(_FWD[sim_scale](hi)).all())
        if not finite:
            sim_scale = "none"
        if tname != "none" and sim_scale != tname:
            raise ValueError(f"a quantile's value or limit is 0{' or 1' if kind == 'proportion' else ''}: "
                             f"the {tname} transform is undefined; fit untransformed")
        if not se:
            f = _FWD[sim_scale]
            with np.errstate(divide="ignore"):
                se_t = (f(hi) - f(lo)) / (2 * norm.ppf(0.975))
        a = pop / pop.sum()
        sa = np.sqrt(a)
        rank = np.cumsum(a) - a / 2
        vt = _FWD[tname](v)
        b = _fit(vt[None, :], sa, rank)[0]
        back = _BACK[tname]
        y0, y1 = back(b[0]), back(b[0] + b[1])
        s_val, r_val = multiplier * (y1 - y0), y1 / y0
        if multiplier < 0:
            r_val = 1 / r_val
        # draws on the simulation scale, taken to the fitting scale
        sims = _FWD[sim_scale](v)[None, :] + rng.standard_normal((reps, k)) * se_t[None, :]
        if sim_scale != tname:
            sims = _BACK[sim_scale](sims)
        bs = _fit(sims, sa, rank)
        y0s, y1s = back(bs[:, 0]), back(bs[:, 0] + bs[:, 1])
        s_sim = multiplier * (y1s - y0s)
        r_sim = y1s / y0s
        if multiplier < 0:
            r_sim = 1 / r_sim
        row = dict(zip(by, key if isinstance(key, tuple) else (key,))) if by else {}
        # the regression's intercept, as PHE returns it: the fitted value at rank 0 (the most
        # deprived end), back-transformed and scaled by |multiplier| when fitted transformed
        intercept = b[0] if tname == "none" else back(b[0]) * abs(multiplier)
        row.update(n_quantiles=k, sii=s_val, rii=r_val, intercept=intercept)
        for lev in levels:
            tag = f"{lev * 100:.1f}".replace(".", "_")
            qlo, qhi = (1 - lev) / 2, 1 - (1 - lev) / 2
            row[f"sii_lower{tag}"], row[f"sii_upper{tag}"] = np.quantile(s_sim, [qlo, qhi])
            row[f"rii_lower{tag}"], row[f"rii_upper{tag}"] = np.quantile(r_sim, [qlo, qhi])
        row.update(transform=tname, simulated_on=sim_scale, kind=kind, reps=reps)
        rows.append(row)
    return pd.DataFrame(rows)
