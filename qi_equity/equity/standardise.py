"""Age standardisation: directly standardised rates (DSR) and indirectly standardised ratios (ISR).

Used to compare rates per population across groups whose age structures differ -- "who is never
referred": a group of mostly young people has fewer referrals per head for reasons of age alone.

- :func:`dsr` weights each age band's rate by a standard population (default the European
  Standard Population 2013, shipped in ``qi_equity/data/esp2013.csv`` with its source) and gives
  Dobson's interval, as PHE / OHID publish them: not computed below 10 events.
- :func:`isr` compares the observed count with the count expected at reference rates (the
  collaborative's, or a supplied set) and gives exact Poisson limits below 10 events and Byar's
  from 10, as PHE's ``calculate_ISRatio``.

References
----------
.. [1] Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991). Confidence intervals for weighted sums
       of Poisson parameters. Statistics in Medicine 10: 457-462.
.. [2] Public Health England (2018/2020). Technical Guide: Confidence intervals (DSR by Dobson's
       method with Byar's limits for the total count; ISR exact below 10, Byar's from 10), and
       Technical Guide: Age-standardisation (DSRs not published for fewer than 10 events).
.. [3] Eurostat (2013). Revision of the European Standard Population. Report of Eurostat's task
       force. Methodologies and Working papers.
.. [4] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, vol II. IARC, p. 69
       (Byar's approximation).
.. [5] Fox S, et al. PHEindicatormethods (``calculate_dsr``, ``calculate_ISRatio``), R package;
       its test workbook ``testdata_DSR_ISR.xlsx`` holds the reference values the tests use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.equity.intervals import byars, poisson_count_ci

MIN_EVENTS = 10  # PHE: no DSR below 10 events [2]_


@lru_cache(maxsize=1)
def esp2013() -> pd.DataFrame:
    """The European Standard Population 2013 [3]_: ``age_band`` (0-4, 5-9, ..., 85-89, 90+) and
    ``weight`` (summing to 100,000)."""
    path = Path(__file__).parents[1] / "data" / "esp2013.csv"
    return pd.read_csv(path, comment="#", dtype={"age_band": str, "weight": float})


def _checked(data: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found (columns: {list(data.columns)})")
    for c in cols:
        v = pd.to_numeric(data[c], errors="coerce")
        bad = v.isna() & data[c].notna() | (v < 0)
        if bad.any():
            raise ValueError(f"column '{c}': {int(bad.sum())} row(s) are not numbers of zero or more")


def dsr(data: pd.DataFrame, count: str = "count", population: str = "population", by=None,
        standard: str | pd.Series | np.ndarray | None = None, age_band: str = "age_band",
        confidence=(0.95, 0.998), multiplier: float = 100_000) -> pd.DataFrame:
    """Directly standardised rates with Dobson's intervals [1]_ [2]_.

    ``DSR = sum(w_i x_i / n_i) / sum(w_i)``, ``var = sum(w_i^2 x_i / n_i^2) / sum(w_i)^2`` and, with
    ``X`` the total count and ``X_lo``, ``X_hi`` its Byar's limits, ``DSR + sqrt(var / X) (X_lo - X)``
    and ``DSR + sqrt(var / X) (X_hi - X)``. Not computed (NaN, with a note) below 10 events.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit x age band.
    count, population : str
        Events and population per row (a missing count is 0; a population must be above 0).
    by : str or list of str, optional
        Columns identifying the units (areas, groups); one row per unit is returned.
    standard : str, array or None
        The standard population: a column of ``data``, an array with one weight per row of each
        unit (in the unit's row order), or None for ESP 2013 matched on ``age_band``.
    age_band : str
        Column of age bands matched to ESP 2013 when ``standard`` is None.
    confidence : float or tuple of float
        Levels of the intervals (default 95% and 99.8%).
    multiplier : float
        Rate per this many people (100,000 as PHE).

    Returns
    -------
    pandas.DataFrame
        One row per unit: the ``by`` columns, ``total_count``, ``total_population``, ``value``,
        ``lower<level>``, ``upper<level>`` per level (e.g. ``lower95``, ``upper998``), ``method``
        ("Dobson"), ``note`` ("" or why there is no value).

    Raises
    ------
    ValueError
        A missing column, a negative or non-numeric value, a population of 0 in a band, or an age
        band that ESP 2013 does not have.
    """
    by = [by] if isinstance(by, str) else list(by or [])
    _checked(data, [count, population])
    d = data.copy()
    d["_x"] = pd.to_numeric(d[count], errors="coerce").fillna(0.0).to_numpy(float)
    d["_n"] = pd.to_numeric(d[population], errors="coerce").to_numpy(float)
    if (~(d["_n"] > 0)).any():
        raise ValueError(f"column '{population}': {int((~(d['_n'] > 0)).sum())} row(s) are zero or missing "
                         "(a rate needs a population in every age band)")
    if standard is None:
        if age_band not in d:
            raise ValueError(f"column '{age_band}' not found: needed to match the European Standard Population 2013")
        w = dict(zip(esp2013()["age_band"], esp2013()["weight"]))
        bands = d[age_band].astype(str).str.strip()
        unknown = ~bands.isin(list(w))
        if unknown.any():
            raise ValueError(f"column '{age_band}': {int(unknown.sum())} row(s) have bands ESP 2013 does not have, "
                             f"e.g. {sorted(set(bands[unknown]))[:3]} (it has {list(w)})")
        d["_w"] = bands.map(w).to_numpy(float)
    elif isinstance(standard, str):
        _checked(d, [standard])
        d["_w"] = pd.to_numeric(d[standard]).to_numpy(float)
    else:
        std = np.asarray(standard, float)
        sizes = d.groupby(by, sort=False).size().to_numpy() if by else np.array([len(d)])
        if not (sizes == len(std)).all():
            raise ValueError(f"standard: {len(std)} weights, but units have {sorted(set(sizes.tolist()))} rows")
        d["_w"] = np.tile(std, len(sizes)) if by else std
    d["_wr"] = d["_w"] * d["_x"] / d["_n"]
    d["_sq"] = d["_x"] * (d["_w"] / d["_n"]) ** 2
    g = d.groupby(by, sort=False) if by else d.assign(_all=0).groupby("_all")
    out = g.agg(total_count=("_x", "sum"), total_population=("_n", "sum"), _wr=("_wr", "sum"),
                _sq=("_sq", "sum"), _w=("_w", "sum")).reset_index()
    if not by:
        out = out.drop(columns="_all")
    value = out["_wr"] / out["_w"]
    var = (out["_sq"] / out["_w"] ** 2).to_numpy(float)  # an array, so the errstate below decides
    x = out["total_count"].to_numpy(float)
    few = x < MIN_EVENTS
    out["value"] = np.where(few, np.nan, value * multiplier)
    for c in np.atleast_1d(confidence):
        lo, hi = byars(x, float(c))  # Dobson's method uses Byar's limits at every count
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.sqrt(var / x)
        lab = level_label(float(c))
        out[f"lower{lab}"] = np.where(few, np.nan, (value + f * (lo - x)) * multiplier)
        out[f"upper{lab}"] = np.where(few, np.nan, (value + f * (hi - x)) * multiplier)
    out["method"] = "Dobson"
    out["note"] = np.where(few, f"not calculated for fewer than {MIN_EVENTS} events", "")
    return out.drop(columns=["_wr", "_sq", "_w"])


def level_label(confidence: float) -> str:
    """95 for 0.95, 998 for 0.998."""
    return f"{confidence * 100:g}".replace(".", "")


def isr(data: pd.DataFrame, count: str = "count", population: str = "population", by=None,
        reference_count: str | None = None, reference_population: str | None = None,
        reference_rates: str | None = None, confidence=(0.95, 0.998), multiplier: float = 1.0) -> pd.DataFrame:
    """Indirectly standardised ratios: observed over the count expected at reference rates [2]_ [4]_.

    ``E = sum(n_i r_i)`` with ``r_i`` the reference rate of band ``i`` (``reference_count /
    reference_population``, or a column of rates); ``ISR = O / E``; limits are the count's exact
    Poisson limits below 10 events and Byar's from 10 (:func:`qi_equity.equity.intervals.poisson_count_ci`),
    divided by ``E``. When no reference is given, the reference rates are the pooled rates of
    all units in ``data`` by age band (the collaborative's own), which needs ``by`` and an
    ``age_band`` column.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit x age band.
    count, population : str
        Observed events and population per row.
    by : str or list of str, optional
        Columns identifying the units.
    reference_count, reference_population : str, optional
        Columns of the reference events and population of the row's band.
    reference_rates : str, optional
        A column of reference rates per person instead.
    confidence : float or tuple of float
    multiplier : float
        1 for a ratio, 100 for a ratio x 100.

    Returns
    -------
    pandas.DataFrame
        One row per unit: the ``by`` columns, ``observed``, ``expected``, ``value`` (O / E x
        multiplier), ``lower<level>``, ``upper<level>``, ``method`` ("Exact" below 10 events,
        else "Byars").
    """
    by = [by] if isinstance(by, str) else list(by or [])
    _checked(data, [count, population])
    d = data.copy()
    d["_x"] = pd.to_numeric(d[count], errors="coerce").fillna(0.0).to_numpy(float)
    d["_n"] = pd.to_numeric(d[population], errors="coerce").to_numpy(float)
    if reference_rates is not None:
        _checked(d, [reference_rates])
        d["_r"] = pd.to_numeric(d[reference_rates]).to_numpy(float)
    elif reference_count is not None and reference_population is not None:
        _checked(d, [reference_count, reference_population])
        rp = pd.to_numeric(d[reference_population]).to_numpy(float)
        if (~(rp > 0)).any():
            raise ValueError(f"column '{reference_population}': {int((~(rp > 0)).sum())} row(s) are zero or missing")
        d["_r"] = pd.to_numeric(d[reference_count]).to_numpy(float) / rp
    else:
        if not by or "age_band" not in d:
            raise ValueError("isr: give reference_count and reference_population, or reference_rates, or by= and an "
                             "'age_band' column for the pooled rates of all units")
        pooled = d.groupby("age_band", sort=False)[["_x", "_n"]].sum()
        d["_r"] = d["age_band"].map(pooled["_x"] / pooled["_n"]).to_numpy(float)
    d["_e"] = d["_n"] * d["_r"]
    g = d.groupby(by, sort=False) if by else d.assign(_all=0).groupby("_all")
    out = g.agg(observed=("_x", "sum"), expected=("_e", "sum")).reset_index()
    if not by:
        out = out.drop(columns="_all")
    o, e = out["observed"].to_numpy(float), out["expected"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["value"] = o / e * multiplier
        for c in np.atleast_1d(confidence):
            lo, hi = poisson_count_ci(o, float(c))
            lab = level_label(float(c))
            out[f"lower{lab}"] = lo / e * multiplier
            out[f"upper{lab}"] = hi / e * multiplier
    out["method"] = np.where(o < 10, "Exact", "Byars")
    return out
