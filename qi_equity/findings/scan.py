"""The scan: every test the findings rest on, one row each, with its p-value.

Three families of tests run over every cell of :class:`~qi_equity.findings.cells.CellData`
(specialty x dimension x group) and every scanned flow measure:

- **gap now**: each group against its dimension's reference group in the same specialty, and
  against everyone else there (whose group is recorded), pooled over the last ``window_months``:
  a one-sided test that the group is worse off by more than the minimum important gap ``margin``
  (:mod:`qi_equity.equity.gaps`). The stated reference is the like-for-like comparison; everyone
  else is the one with power when the stated reference is small (the least deprived fifth in one
  specialty of a deprived trust); both are in the family, and overlapping findings are one cluster;
- **gap change**: the gap's own series (group minus reference each period, positive = the
  group worse off) tested for a sustained change in level (:mod:`qi_equity.variation.change`);
  up is a widening gap, down a narrowing one;
- **group change**: each group's own series tested the same way.

A series is tested only at a grain where every period has enough pathways (see
:func:`choose_grain`); a comparison whose groups are too small is kept with ``tested=False``
and its ``reason``, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity.equity.gaps import median_gap, proportion_gap
from qi_equity.findings.cells import EVERYONE_ELSE, MEASURE_EVENTS, SCAN_MEASURES, CellData
from qi_equity.variation.change import change_test, min_segment_for
from qi_equity.variation.spc import SHORT_PERIOD


@dataclass
class Settings:
    """Every threshold of the scan (documented in docs/findings.md).

    Attributes
    ----------
    margin : float
        Minimum important gap, as a ratio (1.2: a group at least 20% worse off than its
        reference). The gap-now test's null hypothesis is "no worse than this".
    q : float
        False discovery rate across all of one provider's tests.
    fdr_method : str
        :func:`qi_equity.equity.multiplicity.adjust` method.
    min_group : int
        Fewest pathways (in the pooled window) in a group and in its reference for a gap-now test.
    min_expected : float
        For percentages, fewest events expected in each of the two groups at the reference's
        rate (and non-events), the classic condition for the normal approximation.
    min_period_median : int
        Fewest pathways in every period of a series of medians.
    min_period_expected : float
        For percentages, fewest expected events (and non-events) in every period of a series: 3, so
        that a chart of the series reads as a rate; the change test itself (ranks, ties broken at
        random) is exact whatever the counts.
    min_points : int
        Fewest periods in a series for a change to be called (Making Data Count's minimum for
        limits that are not provisional: NHSRplotthedots warns below 13).
    min_test_period : int
        A series whose chart needs a coarser grain is still *tested* on its monthly values when
        every month has at least this many pathways: the rank test is exact whatever the counts,
        and on 18 two-monthly points it cannot reach a p-value below about 3e-5 at all (its
        largest possible statistic), which a scan of thousands of tests needs.
    grains : tuple
        Grains tried, finest first (months per period).
    min_change : float
        A change in level is a finding only if it is at least this share of the series' level
        before the change (of the reference's level, for a gap).
    recent_months : int
        A change must show as special cause on its Making Data Count chart within these months.
    all_patients_weight : float
        Weight of the all-patients, all-specialties series in the weighted false-discovery control
        (Genovese, Roeder and Wasserman 2006): the few series a board reads first get a larger share
        of the error budget; weights are rescaled to average 1, so the FDR is still controlled.
    """

    margin: float = 1.2
    q: float = 0.05
    fdr_method: str = "fdr_bh"
    min_group: int = 20
    min_expected: float = 5.0
    min_period_median: int = 10
    min_period_expected: float = 3.0
    min_points: int = SHORT_PERIOD
    min_test_period: int = 5
    grains: tuple = (1, 2)
    min_change: float = 0.15
    recent_months: int = 12
    all_patients_weight: float = 20.0
    measures: tuple = SCAN_MEASURES
    extra: dict = field(default_factory=dict)


TEST_COLUMNS = ["family", "measure", "specialty", "dimension", "group", "reference_group", "cell", "ref_cell",
                "tested", "reason", "grain", "test_grain", "n_group", "n_reference", "value_group", "value_reference", "size",
                "size_lower", "size_upper", "ratio", "ratio_lower", "ratio_upper", "statistic", "z", "p_value",
                "change_from", "mean_before", "mean_after", "direction"]


def _kind(measure: str) -> str:
    return MEASURE_EVENTS[measure][1]


def period_ok(data: CellData, measure: str, grain: int, settings: Settings) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Per cell: does every period of the series at this grain have enough pathways?"""
    arr, dates = data.series(measure, grain)
    n = arr["n"]
    if len(dates) < settings.min_points:
        return np.zeros(len(n), dtype=bool), dates
    if _kind(measure) == "median":
        return (n >= settings.min_period_median).all(axis=1), dates
    with np.errstate(invalid="ignore", divide="ignore"):
        p = arr["x"].sum(axis=1) / n.sum(axis=1)
    e1, e0 = n * p[:, None], n * (1 - p[:, None])
    return ((e1 >= settings.min_period_expected) & (e0 >= settings.min_period_expected)).all(axis=1), dates


def choose_grain(data: CellData, measure: str, settings: Settings) -> np.ndarray:
    """The grain (months per period) of each cell's series: the finest of ``settings.grains``
    at which every period has enough pathways and there are at least ``min_points`` periods;
    0 when none qualifies ("too few to tell")."""
    out = np.zeros(len(data.cells), dtype=int)
    for g in sorted(settings.grains, reverse=True):
        ok, _ = period_ok(data, measure, g, settings)
        out[ok] = g
    return out


def test_grain(data: CellData, measure: str, settings: Settings, chart_grain: np.ndarray) -> np.ndarray:
    """The grain each series is tested at: monthly when every month has at least
    ``min_test_period`` pathways, else its chart grain."""
    n = data.series(measure, 1)[0]["n"]
    monthly = (n >= settings.min_test_period).all(axis=1) & (chart_grain > 0)
    return np.where(monthly, 1, chart_grain)


def _values(arr: dict, measure: str) -> np.ndarray:
    if _kind(measure) == "median":
        return arr["median"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * arr["x"] / np.where(arr["n"] > 0, arr["n"], np.nan)


def comparisons(data: CellData) -> pd.DataFrame:
    """Every group and its reference cell: ``cell, ref_cell, specialty, dimension, group, reference_group``."""
    c = data.cells
    refs = c[c["is_reference"]].set_index(["specialty", "dimension"])["cell"]
    cand = c[~c["is_reference"] & ~c["unrecorded"] & (c["dimension"] != "all")]
    key = list(zip(cand["specialty"], cand["dimension"]))
    ref_cell = [refs.get(k, -1) for k in key]
    out = pd.DataFrame({"cell": cand["cell"].to_numpy(), "ref_cell": ref_cell, "specialty": cand["specialty"].to_numpy(),
                        "dimension": cand["dimension"].to_numpy(), "group": cand["group"].to_numpy()})
    out = out[out["ref_cell"] >= 0]
    out["reference_group"] = c["group"].to_numpy()[out["ref_cell"].to_numpy()]
    return out.reset_index(drop=True)


def gap_now(data: CellData, settings: Settings) -> pd.DataFrame:
    """Gap-now tests for every comparison and measure (see module docstring)."""
    stated = comparisons(data)
    c = data.cells
    rec = c[~c["unrecorded"] & (c["dimension"] != "all")]
    rest = pd.DataFrame({"cell": rec["cell"].to_numpy(), "ref_cell": -1, "specialty": rec["specialty"].to_numpy(),
                         "dimension": rec["dimension"].to_numpy(), "group": rec["group"].to_numpy(),
                         "reference_group": EVERYONE_ELSE})
    comp = pd.concat([stated, rest], ignore_index=True)
    parts = []
    for measure in settings.measures:
        pooled = data.pooled[measure]
        other = data.complement.get(measure)
        g, r = comp["cell"].to_numpy(), comp["ref_cell"].to_numpy()
        vs_rest = r < 0
        ref_stats = pooled.iloc[np.where(vs_rest, 0, r)].reset_index(drop=True).copy()
        if other is not None:
            ref_stats.loc[vs_rest, :] = other.iloc[g[vs_rest]][ref_stats.columns].to_numpy()
        else:
            ref_stats.loc[vs_rest, :] = np.nan
        ng, nr = pooled["n"].to_numpy(float)[g], ref_stats["n"].to_numpy(float)
        f = comp.copy()
        f["family"], f["measure"] = "gap_now", measure
        f["n_group"], f["n_reference"] = ng, nr
        if _kind(measure) == "percent":
            xg, xr = pooled["x"].to_numpy(float)[g], ref_stats["x"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                pr = np.where(nr > 0, xr / np.where(nr > 0, nr, 1), np.nan)
            small = (ng < settings.min_group) | (nr < settings.min_group)
            few = ~small & ((ng * pr < settings.min_expected) | (nr * pr < settings.min_expected)
                            | (ng * (1 - pr) < settings.min_expected) | (nr * (1 - pr) < settings.min_expected))
            res = proportion_gap(xg, ng, xr, nr, margin=settings.margin)
            f["value_group"], f["value_reference"] = 100 * res["value"].to_numpy(), 100 * res["value_reference"].to_numpy()
            for a, b in (("size", "difference"), ("size_lower", "difference_lower"), ("size_upper", "difference_upper")):
                f[a] = 100 * res[b].to_numpy()
            reasons = np.where(small, f"fewer than {settings.min_group} pathways",
                               np.where(few, f"fewer than {settings.min_expected:g} expected events", ""))
        else:
            m, se, sl = (pooled[col].to_numpy(float) for col in ("median", "se", "se_log"))
            mr, ser, slr = (ref_stats[col].to_numpy(float) for col in ("median", "se", "se_log"))
            res = median_gap(m[g], se[g], mr, ser, sl[g], slr, margin=settings.margin)
            f["value_group"], f["value_reference"] = m[g], mr
            f["size"], f["size_lower"], f["size_upper"] = (res[col].to_numpy() for col in
                                                          ("difference", "difference_lower", "difference_upper"))
            small = (ng < settings.min_group) | (nr < settings.min_group) | ~np.isfinite(se[g]) | ~np.isfinite(ser)
            reasons = np.where(small, f"fewer than {settings.min_group} pathways", "")
        for c in ("ratio", "ratio_lower", "ratio_upper"):
            f[c] = res[c].to_numpy()
        f["z"] = res["z"].to_numpy()
        f["statistic"] = f["z"]
        f["reason"] = reasons
        f["tested"] = reasons == ""
        f["p_value"] = np.where(f["tested"], res["p_value"].to_numpy(), np.nan)
        f["direction"] = np.where(f["size"] > 0, 1, -1)
        parts.append(f)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TEST_COLUMNS)


def _change_rows(values: np.ndarray, dates, meta: pd.DataFrame, grain: int) -> pd.DataFrame:
    res = change_test(values, min_segment=min_segment_for(values.shape[1], grain), dates=dates)
    out = meta.reset_index(drop=True).copy()
    out["grain"] = grain
    out["statistic"] = res["statistic"].to_numpy()
    out["p_value"] = res["p_value"].to_numpy()
    out["change_from"] = res["change_from"].to_numpy()
    out["mean_before"], out["mean_after"] = res["mean_before"].to_numpy(), res["mean_after"].to_numpy()
    out["size"] = res["shift"].to_numpy()
    se = res["shift_se"].to_numpy()
    out["size_lower"], out["size_upper"] = out["size"] - 1.959964 * se, out["size"] + 1.959964 * se
    with np.errstate(invalid="ignore", divide="ignore"):
        out["z"] = out["size"] / se
    out["direction"] = res["direction"].to_numpy()
    return out


def _tested(values_at, meta: pd.DataFrame, chart: np.ndarray, tgrain: np.ndarray, measure: str, data: CellData):
    """Change tests of series grouped by (chart grain, test grain)."""
    parts = []
    for cg, tg in sorted(set(zip(chart[chart > 0], tgrain[chart > 0]))):
        sel = (chart == cg) & (tgrain == tg)
        arr, dates = data.series(measure, int(tg))
        rows = _change_rows(values_at(arr, sel), dates, meta[sel], int(tg))
        rows["grain"], rows["test_grain"] = int(cg), int(tg)
        rows["tested"], rows["reason"] = True, ""
        parts.append((rows, arr, sel))
    return parts


def gap_change(data: CellData, settings: Settings) -> pd.DataFrame:
    """Change tests on every comparison's gap series, at the grain both series allow (tested on
    monthly values when every month allows it)."""
    comp = comparisons(data)
    parts = []
    for measure in settings.measures:
        grain = choose_grain(data, measure, settings)
        g, r = comp["cell"].to_numpy(), comp["ref_cell"].to_numpy()
        both = np.where((grain[g] > 0) & (grain[r] > 0), np.maximum(grain[g], grain[r]), 0)
        tg_cell = test_grain(data, measure, settings, grain)
        tg = np.where(both > 0, np.maximum(tg_cell[g], tg_cell[r]), 0)
        meta = comp.assign(family="gap_change", measure=measure)
        untested = meta[both == 0].copy()
        untested["tested"], untested["reason"], untested["grain"] = False, "too few pathways in some periods", 0
        parts.append(untested)

        def gap_values(arr, sel):
            v = _values(arr, measure)
            return v[g[sel]] - v[r[sel]]

        for rows, arr, sel in _tested(gap_values, meta, both, tg, measure, data):
            v = _values(arr, measure)
            rows["n_group"] = arr["n"][g[sel]].sum(axis=1)
            rows["n_reference"] = arr["n"][r[sel]].sum(axis=1)
            rows["value_reference"] = v[r[sel]].mean(axis=1)
            parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TEST_COLUMNS)


def group_change(data: CellData, settings: Settings) -> pd.DataFrame:
    """Change tests on every group's own series (reference groups and all patients included)."""
    c = data.cells
    cand = c[~c["unrecorded"]]
    parts = []
    for measure in settings.measures:
        grain = choose_grain(data, measure, settings)
        meta = pd.DataFrame({"family": "group_change", "measure": measure, "cell": cand["cell"].to_numpy(),
                             "specialty": cand["specialty"].to_numpy(), "dimension": cand["dimension"].to_numpy(),
                             "group": cand["group"].to_numpy(), "ref_cell": -1, "reference_group": ""})
        cells_all = meta["cell"].to_numpy()
        gcell = grain[cells_all]
        tg = test_grain(data, measure, settings, grain)[cells_all]
        untested = meta[gcell == 0].copy()
        untested["tested"], untested["reason"], untested["grain"] = False, "too few pathways in some periods", 0
        parts.append(untested)
        for rows, arr, sel in _tested(lambda arr, sel: _values(arr, measure)[cells_all[sel]], meta, gcell, tg,
                                      measure, data):
            rows["n_group"] = arr["n"][cells_all[sel]].sum(axis=1)
            parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TEST_COLUMNS)


def run(data: CellData, settings: Settings | None = None) -> pd.DataFrame:
    """Every test of the three families, in :data:`TEST_COLUMNS` (p-values unadjusted)."""
    settings = settings or Settings()
    parts = [gap_now(data, settings), gap_change(data, settings), group_change(data, settings)]
    out = pd.concat([p.reindex(columns=TEST_COLUMNS) for p in parts if len(p)], ignore_index=True)
    out["tested"] = out["tested"].astype(bool)
    out["reason"] = out["reason"].fillna("")
    return out
