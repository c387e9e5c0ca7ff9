"""Funnel plots with Spiegelhalter overdispersion, as FunnelPlotR does them.

Providers (or groups within one provider) are compared with a target: the pooled
proportion for proportions, 1 for indirectly standardised ratios (observed / expected).
Limits at 95% and 99.8% come in two kinds:

- **unadjusted**: for ratios exact Poisson limits around the target; for proportions the
  arcsine-square-root normal approximation;
- **overdispersed** (additive random effects): z-scores on the transformed scale are
  winsorised (proportions) or truncated (SHMI ratios) at ``trim_by`` at each end, the
  dispersion ratio phi is their mean square, and when phi shows overdispersion the
  between-unit variance tau² inflates the limits.

The method is never switched silently: ``.summary`` reports the requested method
(``method``), the one used for the outlier flags (``effective_method``) and why.

References
----------
.. [1] Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance.
       Statistics in Medicine 24: 1185-1202.
.. [2] Spiegelhalter DJ (2005). Handling over-dispersion of performance indicators.
       Quality and Safety in Health Care 14: 347-351.
.. [3] Mainey C, et al. FunnelPlotR 0.5.0, https://github.com/nhs-r-community/FunnelPlotR
       (transformations, winsorisation/truncation, phi, tau², limit formulae; z values
       1.959964 and 3.090232 as hard-coded there).
.. [4] NHS Digital (2023). SHMI methodology: truncation of 10% at each end of z-scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import chi2

Z95, Z998 = 1.959964, 3.090232  # as FunnelPlotR [3]_


@dataclass
class FunnelResult:
    """Result of :func:`funnel`.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per unit: ``group, numerator, denominator, value`` (proportion x multiplier or
        ratio x multiplier), ``z`` (unadjusted z-score on the transformed scale),
        ``z_winsorised`` (NaN where truncated), ``trimmed`` (winsorised or truncated),
        ``lower95, upper95, lower998, upper998`` (unadjusted),
        ``od_lower95, od_upper95, od_lower998, od_upper998`` (overdispersed),
        ``outlier95, outlier998`` (by the effective method), ``direction`` (high / low / ""),
        ``highlight``.
    summary : pandas.DataFrame
        One row: ``kind, target, n_units, n_used_for_phi, phi, tau2, method,
        effective_method, reason, trim_by, multiplier``.
    limits : pandas.DataFrame
        Limits on a grid of denominators for drawing the funnel.
    """

    data: pd.DataFrame
    summary: pd.DataFrame
    limits: pd.DataFrame
    options: dict = field(default_factory=dict)

    def outliers(self, level: float = 0.998) -> pd.DataFrame:
        """Units outside the (effective-method) limits at 0.95 or 0.998."""
        col = "outlier95" if level == 0.95 else "outlier998"
        return self.data[self.data[col]].reset_index(drop=True)

    def plot(self, ax=None, highlight=None, title: str | None = None, **kw):
        """Draw the funnel; ``highlight`` is a unit (or list) to pick out. Returns the figure."""
        from qi_equity.plotting.funnel import plot_funnel

        return plot_funnel(self, ax=ax, highlight=highlight, title=title, **kw)


def _transform(kind, num, den, target, sr_method):
    """Standard error ``s`` on the transformed scale and the unadjusted z-score [3]_.

    Ratio of counts (``kind="counts"``): ``Y = log((O + 0.5) / (D + 0.5))`` with
    ``s = sqrt(O / (O + 0.5)^2 + D / (D + 0.5)^2)`` -- the delta-method standard error of a log
    ratio of two Poisson counts with the usual half-count continuity correction [1]_ [3]_ --
    and target ``log(sum O / sum D)``; proportions ``Y = asin(sqrt(p))``, ``s = 1 / (2 sqrt(n))``;
    SHMI ratios ``z = sqrt(E) log(O / E)`` (``s = 1 / sqrt(E)``); CQC ratios ``Y = sqrt(O / E)``,
    ``s = 1 / (2 sqrt(E))``, ``z = (Y - 1) / s``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "counts":
            s = np.sqrt(num / (num + 0.5) ** 2 + den / (den + 0.5) ** 2)
            z = (np.log((num + 0.5) / (den + 0.5)) - np.log(target)) / s
        elif kind == "proportion":
            s = 1 / (2 * np.sqrt(den))
            z = (np.arcsin(np.sqrt(num / den)) - np.arcsin(np.sqrt(target))) / s
        elif sr_method == "SHMI":
            s = 1 / np.sqrt(den)
            z = np.sqrt(den) * np.log(num / den)
        else:  # CQC square-root method
            s = 1 / (2 * np.sqrt(den))
            z = (np.sqrt(num / den) - 1) / s
    return s, z


def _quantile7(x, q):
    """R's default quantile (type 7), which numpy's 'linear' method equals."""
    return np.quantile(x, q, method="linear")


def _winsorise(z, trim_by):
    ok = np.isfinite(z)
    lz, uz = _quantile7(z[ok], trim_by), _quantile7(z[ok], 1 - trim_by)
    trimmed = (z < lz) | (z > uz)  # moved by the winsorising (a value at a quantile stays as it is)
    return np.clip(z, lz, uz), trimmed


def _truncate(z, trim_by):
    """SHMI truncation: drop the units ranked in the bottom and top ``trim_by`` [4]_."""
    k = 1 / trim_by
    rk = pd.Series(z).rank(method="average").to_numpy()
    sp = np.floor(rk * k / (len(z) + 1))
    trimmed = ~((sp > 0) & (sp < k - 1))
    return np.where(trimmed, np.nan, z), trimmed


def dispersion(z_used: np.ndarray, s_used: np.ndarray) -> tuple[float, float]:
    """phi (mean squared z) and the DerSimonian-Laird-type additive tau² of Spiegelhalter [2]_ [3]_."""
    n = len(z_used)
    phi = float(np.sum(z_used ** 2) / n) if n else float("nan")
    if n == 0 or n * phi < n - 1:
        return phi, 0.0
    w = 1 / s_used ** 2
    spread = np.sum(w) - np.sum(w ** 2) / np.sum(w)
    if not spread > 0:  # a single unit: no between-unit variance to estimate
        return phi, 0.0
    tau2 = max(0.0, (n * phi - (n - 1)) / spread)
    return phi, float(tau2)


def limits_at(den, kind: str, target: float, tau2: float, sr_method: str = "SHMI", multiplier: float = 1.0,
              cqc_limits: str = "squared", s=None):
    """Unadjusted and overdispersed limits at the given denominators [3]_.

    ``cqc_limits`` (ratios, ``sr_method="CQC"``): "squared" back-transforms the square-root
    scale's limits ``1 +/- z sqrt(s^2 + tau2)`` by squaring them (Spiegelhalter 2005 [1]_,
    appendix: a limit for ``sqrt(O/E)`` is the square root of a limit for ``O/E``; a lower limit
    below zero on the square-root scale is 0); "funnelplotr" uses them unsquared, as
    FunnelPlotR 0.5.0 does (``calculate_limits``), which puts them on the square-root scale while
    the ratio is plotted and judged on its own. For ``kind="counts"`` the limits at a unit are
    ``target exp(+/- z sqrt(s^2 + tau2))`` with the unit's own ``s`` when given (the unadjusted
    ones with tau2 = 0); on a grid, without counts, ``s = 1 / (2 sqrt(n))`` as FunnelPlotR draws them.

    Returns a dict of arrays ``lower95, upper95, lower998, upper998, od_lower95, ...``.
    """
    den = np.asarray(den, dtype=float)
    out = {}
    if cqc_limits not in ("squared", "funnelplotr"):
        raise ValueError("cqc_limits must be 'squared' or 'funnelplotr'")
    if kind == "counts":
        se = np.asarray(s, float) if s is not None else 1 / (2 * np.sqrt(den))
        for prefix, tt in (("", 0.0), ("od_", tau2)):
            sd = np.sqrt(se ** 2 + tt)
            for z, lab in ((Z95, "95"), (Z998, "998")):
                out[f"{prefix}lower{lab}"] = target * np.exp(-z * sd)
                out[f"{prefix}upper{lab}"] = target * np.exp(z * sd)
        return {k: v * multiplier for k, v in out.items()}
    if kind == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            out["lower95"] = target * chi2.ppf(0.025, 2 * den) / 2 / den
            out["upper95"] = target * chi2.ppf(0.975, 2 * (den + 1)) / 2 / den
            out["lower998"] = target * chi2.ppf(0.001, 2 * den) / 2 / den
            out["upper998"] = target * chi2.ppf(0.999, 2 * (den + 1)) / 2 / den
            if sr_method == "SHMI":
                sd = np.sqrt(1 / den + tau2)
                out["od_lower95"], out["od_upper95"] = np.exp(-Z95 * sd), np.exp(Z95 * sd)
                out["od_lower998"], out["od_upper998"] = np.exp(-Z998 * sd), np.exp(Z998 * sd)
            else:
                sd = np.sqrt((1 / (2 * np.sqrt(den))) ** 2 + tau2)
                for z, lab in ((Z95, "95"), (Z998, "998")):
                    lo, hi = 1 - z * sd, 1 + z * sd
                    if cqc_limits == "squared":
                        lo, hi = np.where(lo <= 0, 0.0, lo) ** 2, hi ** 2
                    out[f"od_lower{lab}"], out[f"od_upper{lab}"] = lo, hi
    else:
        t = np.arcsin(np.sqrt(target))
        s2 = (1 / (2 * np.sqrt(den))) ** 2
        for prefix, tt in (("", 0.0), ("od_", tau2)):
            sd = np.sqrt(s2 + tt)
            for z, lab in ((Z95, "95"), (Z998, "998")):
                lo, hi = t - z * sd, t + z * sd
                # arcsine limits beyond [0, pi/2] fold back under sin^2: clamp them (a
                # proportion's limit cannot pass 0 or 1)
                out[f"{prefix}lower{lab}"] = np.where(lo <= 0, 0.0, np.sin(np.clip(lo, 0, np.pi / 2)) ** 2)
                out[f"{prefix}upper{lab}"] = np.where(hi >= np.pi / 2, 1.0, np.sin(np.clip(hi, 0, np.pi / 2)) ** 2)
    return {k: v * multiplier for k, v in out.items()}


def funnel(data: pd.DataFrame, numerator: str = "numerator", denominator: str = "denominator",
           group: str = "group", kind: str = "proportion", method: str = "overdispersed",
           sr_method: str = "SHMI", trim_by: float = 0.1, multiplier: float = 1.0, target: float | None = None,
           highlight=None, cqc_limits: str = "squared") -> FunnelResult:
    """Funnel plot of units (providers, or groups within one provider) against a target.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    numerator, denominator, group : str
        Columns. For ``kind="ratio"`` the numerator is observed and the denominator expected.
    kind : {"proportion", "ratio", "counts"}
        Proportion (target = pooled proportion), indirectly standardised ratio (observed /
        expected, target 1) or ratio of two counts (FunnelPlotR's ``RC``: e.g. referrals of a
        group per referral of its reference group; target = the pooled ratio; log scale).
    method : {"overdispersed", "unadjusted"}
        Limits used for the outlier flags. With "overdispersed", when phi shows no
        overdispersion (phi <= 1, hence tau² = 0) the unadjusted limits are used and
        ``effective_method`` and ``reason`` say so. (FunnelPlotR, asked for adjusted limits,
        judges against them even then; with tau² = 0 its adjusted ratio limits are the normal
        approximation on the transformed scale, not the exact Poisson ones used here.)
    sr_method : {"SHMI", "CQC"}
        Transformation for ratios (log, or square root).
    cqc_limits : {"squared", "funnelplotr"}
        Overdispersed CQC limits back-transformed by squaring (default, Spiegelhalter 2005) or,
        as FunnelPlotR 0.5.0, left on the square-root scale (see :func:`limits_at`).
    trim_by : float
        Winsorise (proportions, CQC) or truncate (SHMI) this share at each end before phi.
    multiplier : float
        Scale of ``value`` and the limits (100 for percentages).
    target : float, optional
        Override the target.
    highlight : unit or list, optional
        Unit(s) flagged in ``data.highlight`` and picked out by ``.plot()``.

    Returns
    -------
    FunnelResult
        ``.data``, ``.summary``, ``.limits``, ``.outliers()``, ``.plot()``.

    Raises
    ------
    ValueError
        Missing columns, non-positive denominators, or numerators above denominators for
        proportions (the message names the column and counts the rows).

    Notes
    -----
    Units with a denominator of zero cannot be placed on a funnel: they are reported as
    an error rather than dropped. Proportions of exactly 0 or 1 are placed (arcsine is
    defined there); ratios with zero observed have an infinite negative z (log scale) and
    are excluded from phi, as ``-inf`` z-scores are in FunnelPlotR's winsorisation.
    FunnelPlotR evaluates proportion limits for plotting on a grid and (0.5.0) patches
    tiny denominators against it; this implementation computes every limit exactly at each
    unit's denominator and clamps arcsine limits at 0 and 1, so the two can differ only
    for denominators small enough that a limit reaches 0 or 1.
    """
    for c in (numerator, denominator, group):
        if c not in data.columns:
            raise ValueError(f"column '{c}' not found (columns: {list(data.columns)})")
    if kind not in ("proportion", "ratio", "counts"):
        raise ValueError("kind must be 'proportion', 'ratio' or 'counts'")
    num = pd.to_numeric(data[numerator], errors="coerce").to_numpy(float)
    den = pd.to_numeric(data[denominator], errors="coerce").to_numpy(float)
    bad = ~(den > 0)
    if bad.any():
        raise ValueError(f"column '{denominator}': {int(bad.sum())} row(s) are missing, zero or negative")
    if kind == "proportion" and np.any(num > den):
        raise ValueError(f"column '{numerator}': {int((num > den).sum())} row(s) exceed the denominator")
    if np.any(~(num >= 0)):
        raise ValueError(f"column '{numerator}': {int((~(num >= 0)).sum())} row(s) are missing or negative")
    if target is None:
        target = 1.0 if kind == "ratio" else float(num.sum() / den.sum())
    if kind == "counts" and not target > 0:
        raise ValueError(f"column '{numerator}': every count is zero; a ratio of counts needs some")
    s, z = _transform(kind, num, den, target, sr_method)
    if kind == "ratio" and sr_method == "SHMI":
        zw, trimmed = _truncate(z, trim_by)
    else:
        zw, trimmed = _winsorise(z, trim_by)
    used = np.isfinite(zw)
    phi, tau2 = dispersion(zw[used], s[used])
    lim = limits_at(den, kind, target, tau2, sr_method, multiplier, cqc_limits, s=s if kind == "counts" else None)
    value = num / den * multiplier
    effective, reason = "unadjusted", "unadjusted limits requested"
    if method == "overdispersed":
        if phi > 1 and tau2 > 0:
            effective, reason = "overdispersed", f"phi = {phi:.3g} > 1: limits widened by tau2 = {tau2:.3g}"
        else:
            reason = f"no overdispersion (phi = {phi:.3g} <= 1): unadjusted limits used"
    elif method != "unadjusted":
        raise ValueError("method must be 'overdispersed' or 'unadjusted'")
    pre = "od_" if effective == "overdispersed" else ""
    out95 = (value < lim[pre + "lower95"]) | (value > lim[pre + "upper95"])
    out998 = (value < lim[pre + "lower998"]) | (value > lim[pre + "upper998"])
    hl = set(np.atleast_1d(highlight).tolist()) if highlight is not None else set()
    d = pd.DataFrame({"group": data[group].to_numpy(), "numerator": num, "denominator": den, "value": value,
                      "z": z, "z_winsorised": zw, "trimmed": trimmed, **lim,
                      "outlier95": out95, "outlier998": out998})
    d["direction"] = np.where(out95 & (value > target * multiplier), "high",
                              np.where(out95 & (value < target * multiplier), "low", ""))
    d["highlight"] = d["group"].isin(hl)
    summary = pd.DataFrame([{"kind": kind, "target": target * multiplier, "n_units": len(d),
                             "n_used_for_phi": int(used.sum()), "phi": phi, "tau2": tau2, "method": method,
                             "effective_method": effective, "reason": reason, "trim_by": trim_by,
                             "multiplier": multiplier}])
    grid = np.unique(np.r_[np.geomspace(max(den.min() * 0.5, 1), den.max() * 1.1, 200), den])
    limits = pd.DataFrame({"denominator": grid, **limits_at(grid, kind, target, tau2, sr_method, multiplier,
                                                            cqc_limits)})
    return FunnelResult(d, summary, limits, dict(kind=kind, method=method, sr_method=sr_method, trim_by=trim_by,
                                                 multiplier=multiplier, highlight=highlight, cqc_limits=cqc_limits))


def _phe_proportion_limit(z: float, n: np.ndarray, average: float) -> tuple[np.ndarray, np.ndarray]:
    """PHE's funnel limits for a proportion at denominator ``n``: the values whose Wilson score
    interval just reaches the average (the closed form of PHEindicatormethods' ``sigma_adjustment``)."""
    z2 = z * z
    first = average * (n / z2 + 1)
    adj = np.sqrt((-8 * average * (n / z2 + 1)) ** 2
                  - 64 * (1 / z2 + 1 / n) * average * (n * (average * (n / z2 + 2) - 1) + z2 * (average - 1)))
    last = 1 / z2 + 1 / n
    return (first - adj / 8) / last / n, (first + adj / 8) / last / n


def phe_significance(data: pd.DataFrame, numerator: str = "numerator", denominator: str = "denominator",
                     statistic: str = "proportion") -> pd.Series:
    """PHE Fingertips funnel significance labels: "Low (0.001)", "Low (0.025)", "High (0.001)",
    "High (0.025)" or "Not significant".

    For proportions, PHE's funnel limits around the pooled average (the inverted Wilson score
    interval, two-sided 95% and 99.8%); for indirectly standardised ratios (observed / expected),
    whether the expected count lies outside the observed count's interval (exact Poisson below
    10 events, Byar's from 10), at 95% and 99.8%.

    References
    ----------
    Public Health England. Fingertips technical guidance: funnel plots;
    PHEindicatormethods 2.0.2 ``phe_funnel_significance``.
    """
    x = pd.to_numeric(data[numerator], errors="coerce").to_numpy(float)
    n = pd.to_numeric(data[denominator], errors="coerce").to_numpy(float)
    z95, z998 = _z(0.975), _z(0.999)
    if statistic == "proportion":
        avg = x.sum() / n.sum()
        lo95, hi95 = _phe_proportion_limit(z95, n, avg)
        lo998, hi998 = _phe_proportion_limit(z998, n, avg)
        v = x / n
    elif statistic == "ratio":
        # the expected count against the observed count's own interval (exact below 10 events,
        # Byar's from 10): significant when the expected count lies outside it
        from qi_equity.equity.intervals import poisson_count_ci

        l95, u95 = poisson_count_ci(x, 0.95)
        l998, u998 = poisson_count_ci(x, 0.998)
        label = np.select([u998 < n, u95 < n, l998 > n, l95 > n],
                          ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"], "Not significant")
        return pd.Series(label, index=data.index, name="significance")
    else:
        raise ValueError("statistic must be 'proportion' or 'ratio'")
    label = np.select([v < lo998, v < lo95, v > hi998, v > hi95],
                      ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"], "Not significant")
    return pd.Series(label, index=data.index, name="significance")


def _z(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


#: Fewest *other* providers from which a between-provider variance is estimated; with fewer,
#: leave-one-out limits are unadjusted (binomial only) and the summary says so.
LOO_MIN_OTHERS = 4


def _dersimonian_laird(y: np.ndarray, s2: np.ndarray) -> float:
    """DerSimonian-Laird between-unit variance on the transformed scale (0 when none)."""
    k = len(y)
    if k < 2:
        return 0.0
    w = 1 / s2
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    spread = float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
    return max(0.0, (q - (k - 1)) / spread) if spread > 0 else 0.0


def loo_funnel(data: pd.DataFrame, numerator: str = "numerator", denominator: str = "denominator",
               group: str = "group", multiplier: float = 1.0, min_others: int = LOO_MIN_OTHERS,
               highlight=None) -> FunnelResult:
    """Leave-one-out funnel for proportions: each unit against the others only.

    With a handful of providers, an overdispersion estimate that includes an outlier is inflated
    by it (with five trusts, phi = 13 once hid a provider at z = +11). Here each unit ``i`` is
    compared with the predictive distribution of the *other* units: on the arcsine-square-root
    scale (``y = asin(sqrt(p))``, ``s^2 = 1 / (4n)``), their random-effects mean ``mu_-i`` and
    between-unit variance ``tau2_-i`` (DerSimonian-Laird; 0 when fewer than ``min_others`` others,
    and then the limits are unadjusted), and ``z_i = (y_i - mu_-i) / sqrt(s_i^2 + tau2_-i +
    var(mu_-i))`` -- the cross-validatory comparison of Ohlssen, Sharples and Spiegelhalter [5]_,
    with Spiegelhalter's additive random-effects limits [2]_.

    Returns
    -------
    FunnelResult
        ``.data`` per unit: ``group, numerator, denominator, value, target`` (the others' pooled
        value x multiplier), ``z, p_value`` (two-sided), ``tau2, n_others``,
        ``lower95, upper95, lower998, upper998`` (the unit's own limits at its denominator),
        ``outlier95, outlier998, direction, highlight``. ``.summary``: one row, ``kind, n_units,
        method, min_others, reason``. ``.limits``: one funnel per unit (``unit`` column) on a grid
        of denominators, for drawing each unit against the others.

    References
    ----------
    .. [5] Ohlssen DI, Sharples LD, Spiegelhalter DJ (2007). A hierarchical modelling framework
           for identifying unusual performance in health care providers. JRSS A 170(4): 865-890
           (cross-validatory, leave-one-out predictive p-values).
    """
    from scipy.stats import norm

    for c in (numerator, denominator, group):
        if c not in data.columns:
            raise ValueError(f"column '{c}' not found (columns: {list(data.columns)})")
    num = pd.to_numeric(data[numerator], errors="coerce").to_numpy(float)
    den = pd.to_numeric(data[denominator], errors="coerce").to_numpy(float)
    if np.any(~(den > 0)):
        raise ValueError(f"column '{denominator}': {int((~(den > 0)).sum())} row(s) are missing, zero or negative")
    if np.any(~(num >= 0)) or np.any(num > den):
        raise ValueError(f"column '{numerator}': {int(((~(num >= 0)) | (num > den)).sum())} row(s) are missing, "
                         "negative or above the denominator")
    k = len(num)
    if k < 3:
        raise ValueError(f"a leave-one-out funnel needs at least 3 units, not {k}")
    y = np.arcsin(np.sqrt(num / den))
    s2 = 1 / (4 * den)
    rows, grids = [], []
    grid = np.geomspace(max(den.min() * 0.5, 1), den.max() * 1.1, 200)
    for i in range(k):
        o = np.arange(k) != i
        tau2 = _dersimonian_laird(y[o], s2[o]) if o.sum() >= min_others else 0.0
        w = 1 / (s2[o] + tau2)
        mu = float(np.sum(w * y[o]) / np.sum(w))
        var_mu = float(1 / np.sum(w))
        sd = np.sqrt(s2[i] + tau2 + var_mu)
        z = (y[i] - mu) / sd
        lim = {}
        for zz, lab in ((Z95, "95"), (Z998, "998")):
            lo, hi = mu - zz * sd, mu + zz * sd
            lim[f"lower{lab}"] = 0.0 if lo <= 0 else np.sin(min(lo, np.pi / 2)) ** 2
            lim[f"upper{lab}"] = 1.0 if hi >= np.pi / 2 else np.sin(max(hi, 0)) ** 2
        rows.append({"target": np.sin(mu) ** 2, "z": z, "p_value": 2 * norm.sf(abs(z)), "tau2": tau2,
                     "n_others": int(o.sum()), **lim})
        gsd = np.sqrt(1 / (4 * grid) + tau2 + var_mu)
        g = {"unit": data[group].to_numpy()[i], "denominator": grid}
        for zz, lab in ((Z95, "95"), (Z998, "998")):
            g[f"lower{lab}"] = np.where(mu - zz * gsd <= 0, 0.0, np.sin(np.clip(mu - zz * gsd, 0, np.pi / 2)) ** 2)
            g[f"upper{lab}"] = np.where(mu + zz * gsd >= np.pi / 2, 1.0, np.sin(np.clip(mu + zz * gsd, 0, np.pi / 2)) ** 2)
        grids.append(pd.DataFrame(g))
    d = pd.DataFrame(rows)
    value = num / den
    out = pd.DataFrame({"group": data[group].to_numpy(), "numerator": num, "denominator": den,
                        "value": value * multiplier})
    out["target"] = d["target"].to_numpy() * multiplier
    for c in ("z", "p_value", "tau2", "n_others"):
        out[c] = d[c].to_numpy()
    for c in ("lower95", "upper95", "lower998", "upper998"):
        out[c] = d[c].to_numpy() * multiplier
    out["outlier95"] = np.abs(out["z"]) > Z95
    out["outlier998"] = np.abs(out["z"]) > Z998
    out["direction"] = np.where(out["outlier95"], np.where(out["z"] > 0, "high", "low"), "")
    hl = set(np.atleast_1d(highlight).tolist()) if highlight is not None else set()
    out["highlight"] = out["group"].isin(hl)
    limits = pd.concat(grids, ignore_index=True)
    for c in ("lower95", "upper95", "lower998", "upper998"):
        limits[c] = limits[c] * multiplier
    adjusted = k - 1 >= min_others
    reason = (f"each provider against the other {k - 1}: their random-effects mean and between-provider variance "
              f"(DerSimonian-Laird)" if adjusted else
              f"each provider against the other {k - 1}: too few to estimate between-provider variance "
              f"(fewer than {min_others}), so unadjusted limits")
    summary = pd.DataFrame([{"kind": "proportion", "n_units": k, "method": "leave_one_out",
                             "effective_method": "leave_one_out_random_effects" if adjusted else "leave_one_out_unadjusted",
                             "min_others": min_others, "reason": reason, "multiplier": multiplier}])
    return FunnelResult(out, summary, limits, dict(kind="proportion", method="leave_one_out", multiplier=multiplier,
                                                   highlight=highlight))


#: The least between-provider standard deviation assumed of standardised ratios on the log scale
#: (about 10% between trusts): with few providers it cannot be estimated (with three others, not at
#: all), and with large denominators a trust would otherwise stand out for ordinary variation.
MIN_BETWEEN_SD = 0.10


def loo_funnel_standardised(strata: pd.DataFrame, numerator: str = "numerator", denominator: str = "denominator",
                            group: str = "group", stratum: str = "stratum", multiplier: float = 1.0,
                            min_others: int = LOO_MIN_OTHERS, min_between_sd: float = MIN_BETWEEN_SD,
                            highlight=None) -> FunnelResult:
    """Leave-one-out funnel of indirectly standardised proportions: each unit against the others,
    allowing for the mix of its cases across ``stratum`` (e.g. IMD quintile).

    For unit ``i`` the reference rates are the other units' pooled rates in each stratum; every
    unit's expected count is its stratum denominators times those rates, its standardised ratio
    ``SR = O / E`` [6]_, analysed on the log scale with ``s^2 = 1 / E`` (as FunnelPlotR's SR
    funnels [3]_). The others' random-effects mean and between-unit variance (DerSimonian-Laird,
    from at least ``min_others`` others, and never below ``min_between_sd`` squared) give unit
    ``i``'s predictive z-score, as in :func:`loo_funnel` [5]_. Values and limits are reported as
    standardised proportions ``SR x`` the others' overall proportion (x ``multiplier``), so they
    read as a rate. A single stratum (``stratum`` constant) is the crude comparison on the same scale.

    Parameters
    ----------
    strata : pandas.DataFrame
        One row per unit x stratum: counts ``numerator`` of ``denominator``. A stratum whose
        numerator is missing (suppressed) for a unit is left out of that unit's observed and
        expected counts alike.

    Returns
    -------
    FunnelResult
        As :func:`loo_funnel`, plus ``observed, expected, ratio`` per unit.

    References
    ----------
    .. [6] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol II. IARC
           (indirect standardisation; standardised ratios).
    """
    from scipy.stats import norm

    for c in (numerator, denominator, group, stratum):
        if c not in strata.columns:
            raise ValueError(f"column '{c}' not found (columns: {list(strata.columns)})")
    d = strata[[group, stratum, numerator, denominator]].copy()
    d[numerator] = pd.to_numeric(d[numerator], errors="coerce")
    d[denominator] = pd.to_numeric(d[denominator], errors="coerce")
    d = d[d[denominator] > 0]
    units = list(dict.fromkeys(d[group]))
    k = len(units)
    if k < 3:
        raise ValueError(f"a leave-one-out funnel needs at least 3 units, not {k}")
    rows, grids = [], []
    n_unit = d.groupby(group)[denominator].sum()
    grid = np.geomspace(max(n_unit.min() * 0.5, 1), n_unit.max() * 1.1, 200)
    for u in units:
        others = d[(d[group] != u) & d[numerator].notna()]
        rate = others.groupby(stratum)[numerator].sum() / others.groupby(stratum)[denominator].sum()
        overall = float(others[numerator].sum() / others[denominator].sum())
        pub = d[d[numerator].notna() & d[stratum].isin(rate.index)]
        obs = pub.groupby(group)[numerator].sum()
        exp_ = (pub[denominator] * pub[stratum].map(rate)).groupby(pub[group]).sum()
        y = np.log(np.maximum(obs, 0.5) / exp_)
        s2 = 1 / exp_
        o = [v for v in units if v != u and v in y.index]
        tau2 = _dersimonian_laird(y[o].to_numpy(), s2[o].to_numpy()) if len(o) >= min_others else 0.0
        tau2 = max(tau2, min_between_sd ** 2)
        w = 1 / (s2[o] + tau2)
        mu = float(np.sum(w * y[o]) / np.sum(w))
        var_mu = float(1 / np.sum(w))
        sd = np.sqrt(s2[u] + tau2 + var_mu)
        z = (y[u] - mu) / sd
        lim = {f"{side}{lab}": overall * np.exp(mu + sign * zz * sd) for zz, lab in ((Z95, "95"), (Z998, "998"))
               for side, sign in (("lower", -1), ("upper", 1))}
        rows.append({"group": u, "numerator": float(obs[u]), "denominator": float(n_unit[u]), "observed": float(obs[u]),
                     "expected": float(exp_[u]), "ratio": float(obs[u] / exp_[u]),
                     "value": overall * float(obs[u] / exp_[u]), "target": overall * np.exp(mu), "z": z,
                     "p_value": 2 * norm.sf(abs(z)), "tau2": tau2, "n_others": len(o), **lim})
        gsd = np.sqrt(1 / (grid * overall) + tau2 + var_mu)  # expected count at denominator n: about n x overall
        g = {"unit": u, "denominator": grid}
        for zz, lab in ((Z95, "95"), (Z998, "998")):
            g[f"lower{lab}"] = overall * np.exp(mu - zz * gsd)
            g[f"upper{lab}"] = overall * np.exp(mu + zz * gsd)
        grids.append(pd.DataFrame(g))
    out = pd.DataFrame(rows)
    for c in ("value", "target", "lower95", "upper95", "lower998", "upper998"):
        out[c] = out[c] * multiplier
    out["outlier95"] = np.abs(out["z"]) > Z95
    out["outlier998"] = np.abs(out["z"]) > Z998
    out["direction"] = np.where(out["outlier95"], np.where(out["z"] > 0, "high", "low"), "")
    hl = set(np.atleast_1d(highlight).tolist()) if highlight is not None else set()
    out["highlight"] = out["group"].isin(hl)
    limits = pd.concat(grids, ignore_index=True)
    for c in ("lower95", "upper95", "lower998", "upper998"):
        limits[c] = limits[c] * multiplier
    adjusted = k - 1 >= min_others
    mix = d[stratum].nunique() > 1
    reason = (f"each provider against the other {k - 1}" + (f", allowing for its patients' mix by {stratum}" if mix else
                                                             ", crude rates")
              + (": the others' random-effects mean and between-provider variance (DerSimonian-Laird)" if adjusted else
                 f": too few to estimate between-provider variance (fewer than {min_others})")
              + f", assuming at least {min_between_sd:.0%} variation between trusts")
    summary = pd.DataFrame([{"kind": "standardised_proportion", "n_units": k, "method": "leave_one_out_standardised",
                             "effective_method": "leave_one_out_random_effects" if adjusted else "leave_one_out_unadjusted",
                             "min_others": min_others, "reason": reason, "multiplier": multiplier}])
    return FunnelResult(out, summary, limits, dict(kind="standardised_proportion", method="leave_one_out_standardised",
                                                   multiplier=multiplier, highlight=highlight, stratum=stratum))
