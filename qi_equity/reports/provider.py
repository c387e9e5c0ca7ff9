"""Building blocks of the provider report (the notebook only calls these).

Nothing here decides what is published: every table is a view of the provider's release
(:func:`release`, :mod:`qi_equity.publication.release`), which holds every count the report
shows, protected together; a table shows a count only where the release publishes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity import disclosure, measures
from qi_equity.publication import metrics as PM
from qi_equity.publication import release as REL
from qi_equity.publication.protect import Rule
from qi_equity.publication.tables import Published, mask_table
from qi_equity.data import contract as C
from qi_equity.data.io import load_extract
from qi_equity.equity.intervals import wilson
from qi_equity.variation import spc
from qi_equity.variation.spc import SHORT_PERIOD

#: Dimensions of the report's tables and monthly series (the findings scan every dimension;
#: what they publish is in the release too).
PUBLISHED_DIMENSIONS = ("all", "sex_age", "ethnic_group", "imd_quintile")
HEADLINE = "completed_median_wait"


def load_provider(data_path: str | Path, census_date, validate: bool = True) -> pd.DataFrame:
    """Read (and by default validate) a provider extract and derive every field."""
    return C.derive(load_extract(data_path, census_date=census_date, validate=validate), census_date)


def _window_label(census_date, months: int = 12) -> str:
    win = measures.window(census_date, months)
    return REL.run_label(win[0], win[-1])


def disclosure_rule(threshold: int = disclosure.DEFAULT_THRESHOLD, min_median: int = disclosure.DEFAULT_MIN_MEDIAN,
                    hes: bool = False) -> Rule:
    """The report's disclosure rule from its parameters (``hes``: NHS Digital's HES rule, which
    hides 1-7 and rounds every other count to the nearest 5, whatever ``threshold`` says)."""
    return Rule.hes() if hes else Rule(threshold=int(threshold), min_median=int(min_median))


def release(derived: pd.DataFrame, agg: pd.DataFrame | None, census_date, found=None,
            threshold: int = disclosure.DEFAULT_THRESHOLD, months: int = 12, rule: Rule | None = None,
            charts=None, areas: pd.DataFrame | None = None) -> REL.Release:
    """The provider's release: every count the report publishes (its tables, the monthly
    aggregate and its charts, the findings and their charts, the Core20PLUS5 areas' tables),
    protected together. ``charts``: the series the report draws from the scan's cells (default:
    :func:`report_series`); ``areas``: :func:`qi_equity.reports.core20plus5.areas_in`."""
    rule = rule or Rule(threshold=threshold)
    if charts is None:
        from qi_equity.reports.findings import report_series

        charts = report_series(found) if found is not None else []
    kw = {}
    if areas is not None and len(areas):
        from qi_equity.reports.core20plus5 import area_dimensions, plus_flags

        kw = dict(areas=areas, area_dimensions=area_dimensions(found, derived), flags=plus_flags(found))
    return REL.provider_release(derived, census_date, agg, found, rule, months, charts, **kw)


def _own_release(derived, census_date, months, threshold, release_):
    return release_ if release_ is not None else release(derived, None, census_date, None, threshold, months)


def data_quality_table(derived: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD,
                       release_: REL.Release | None = None, census_date=None) -> Published:
    """Recording quality (see :func:`qi_equity.measures.data_quality`) as the release publishes it."""
    dq = measures.data_quality(derived)[["measure", "label", "count", "denominator", "percent"]]
    rel = release_ if release_ is not None else _alone(REL.quality_cells(derived), threshold)
    den = np.where(dq["measure"] == "first_appointment_missing", "treated", "pathways")
    keys = lambda m: pd.DataFrame({"measure": m, "period": "extract", "specialty": "all", "dimension": "all",
                                   "group": "All"})
    pub = mask_table(rel, dq, counts={"count": keys("dq:" + dq["measure"]), "denominator": keys(den)},
                     derived={"percent": ["count", "denominator"]})
    return _drop(pub, ["measure"])


def _alone(cells: pd.DataFrame, threshold: int) -> REL.Release:
    """The release of one table's cells on their own (a table asked for outside a report)."""
    from qi_equity.publication.protect import protect

    p = protect(cells.assign(shown=True), Rule(threshold=threshold), links=())
    return REL.Release(p.cells, p.rule, (), p)


def _drop(pub: Published, cols) -> Published:
    keep = [c for c in pub.data.columns if c not in cols]
    return Published(pub.data[keep], pub.mask[keep], pub.threshold, {k: v for k, v in pub.keys.items() if k in keep},
                     pub.min_median)


EQUITY_COUNTS = {
    "completed": ["median_wait", "over_18", "over_52", "over_18_pct", "over_18_lower", "over_18_upper",
                  "over_52_pct", "removed", "removed_pct"],
    "removed": ["removed_pct"],
    "over_18": ["over_18_pct", "over_18_lower", "over_18_upper"],
    "over_52": ["over_52_pct"],
    "dna_denominator": ["dna", "dna_rate", "dna_lower", "dna_upper"],
    "dna": ["dna_rate", "dna_lower", "dna_upper"],
    "waiting": [],
}


def with_intervals(t: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """An equity table (:func:`qi_equity.measures.equity_table`) with Wilson intervals, in percent,
    for the share over 18 weeks (``over_18_lower, over_18_upper``) and the DNA rate (``dna_lower,
    dna_upper``); NaN where the denominator is 0."""
    t = t.copy()
    for num, den, lo, hi in (("over_18", "completed", "over_18_lower", "over_18_upper"),
                             ("dna", "dna_denominator", "dna_lower", "dna_upper")):
        ok = (t[den] > 0).to_numpy()
        lower, upper = np.full(len(t), np.nan), np.full(len(t), np.nan)
        if ok.any():
            lo_, hi_ = wilson(t.loc[ok, num], t.loc[ok, den], confidence)
            lower[ok], upper[ok] = 100 * np.asarray(lo_), 100 * np.asarray(hi_)
        t[lo], t[hi] = lower, upper
    return t


def equity_summary(derived: pd.DataFrame, census_date, months: int = 12,
                   threshold: int = disclosure.DEFAULT_THRESHOLD, confidence: float = 0.95,
                   release_: REL.Release | None = None) -> Published:
    """Waits and DNA by equity group over the last ``months`` months, with Wilson intervals,
    as the release publishes them.

    Columns: ``dimension, dimension_label, group, completed, median_wait, over_18, over_18_pct,
    over_18_lower, over_18_upper, over_52, over_52_pct, removed, removed_pct, dna_denominator, dna,
    dna_rate, dna_lower, dna_upper, waiting`` (percentages 0-100; intervals at ``confidence``).
    """
    rel = _own_release(derived, census_date, months, threshold, release_)
    t = with_intervals(measures.equity_table(derived, census_date, months, dimensions=PUBLISHED_DIMENSIONS),
                       confidence)
    cols = ["dimension", "dimension_label", "group", "completed", "median_wait", "over_18", "over_18_pct",
            "over_18_lower", "over_18_upper", "over_52", "over_52_pct", "removed", "removed_pct", "dna_denominator",
            "dna", "dna_rate", "dna_lower", "dna_upper", "waiting"]
    t = t[cols].reset_index(drop=True)
    period = _window_label(census_date, months)
    census = REL.month_label(census_date)

    def k(base, per=period):
        return pd.DataFrame({"measure": base, "period": per, "specialty": "all", "dimension": t["dimension"],
                             "group": t["group"]})

    counts = {col: k(base) for col, base in REL.EQUITY_BASES.items()}
    if rel._rows(k("waiting", census), strict=False).min() >= 0:
        counts["waiting"] = k("waiting", census)
    else:
        t["waiting"] = np.nan
    return mask_table(rel, t, counts,
                      derived={"over_18_pct": ["over_18", "completed"], "over_18_lower": ["over_18", "completed"],
                               "over_18_upper": ["over_18", "completed"], "over_52_pct": ["over_52", "completed"],
                               "removed_pct": ["removed", "completed"], "dna_rate": ["dna", "dna_denominator"],
                               "dna_lower": ["dna", "dna_denominator"], "dna_upper": ["dna", "dna_denominator"]},
                      medians={"median_wait": "completed"})


def equity_display(pub: Published) -> pd.DataFrame:
    """Report layout of :func:`equity_summary`: intervals joined to their values."""
    d = pub.display(1)

    def with_ci(v, lo, hi):
        return [(a if (a in ("*", "") or b in ("*", "")) else f"{a} ({b}-{c})") for a, b, c in zip(d[v], d[lo], d[hi])]

    out = pd.DataFrame({
        "Dimension": d["dimension_label"], "Group": d["group"],
        "Completed (12 m)": d["completed"], "Median wait (wk)": d["median_wait"],
        "% over 18 wk (95% CI)": with_ci("over_18_pct", "over_18_lower", "over_18_upper"),
        "% over 52 wk": d["over_52_pct"],
        "First appts": d["dna_denominator"], "With a DNA": d["dna"],
        "DNA % (95% CI)": with_ci("dna_rate", "dna_lower", "dna_upper"),
        "Waiting now": d["waiting"],
    })
    cells = d.attrs.get("cells", {})
    out.attrs["cells"] = {disp: cells[src] for disp, src in (("Completed (12 m)", "completed"),
                          ("First appts", "dna_denominator"), ("With a DNA", "dna"), ("Waiting now", "waiting"))
                          if src in cells}
    return out


def monthly(derived: pd.DataFrame, census_date, months: int = 36, by_specialty: bool = True,
            threshold: int | None = None) -> pd.DataFrame:
    """Monthly measures in the aggregate form (see :func:`qi_equity.measures.monthly_measures`),
    on full data (the analysis); what is published of it is :meth:`Release.aggregate`. A
    ``threshold`` gives the aggregate as it would be published on its own (its own release)."""
    agg = measures.monthly_measures(derived, census_date, months, dimensions=PUBLISHED_DIMENSIONS,
                                    by_specialty=by_specialty)
    return agg if threshold is None else publishable_monthly(agg, threshold)


def measure_spc(agg: pd.DataFrame, measure: str | list[str] = HEADLINE, dimension: str = "all",
                specialty: str = "all", groups=None, min_points: int = SHORT_PERIOD, targets: dict | None = None, **kw):
    """SPC of one measure for each group of a dimension (series with fewer than ``min_points``
    months with a value -- Making Data Count's 13 by default -- are left out, never called common
    cause, and listed in ``result.options['dropped']``).

    ``measure`` may be a list: one vectorised call for every measure x group (series keyed by
    ``measure`` and ``group``; each measure charted in its own improvement direction, with its
    target from ``targets`` when given), the same as one call per measure.
    """
    names = [measure] if isinstance(measure, str) else list(measure)
    d = agg[agg["measure"].isin(names) & (agg["dimension"] == dimension) & (agg["specialty"] == specialty)].copy()
    if groups is not None:
        d = d[d["group"].isin(groups)]
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    by = ["group"] if isinstance(measure, str) else ["measure", "group"]
    key = d[by[0]] if len(by) == 1 else d["measure"] + "\x1f" + d["group"]
    n_ok = d.groupby(key)["value"].count()
    keep = n_ok[n_ok >= min_points].index
    dropped = sorted(set(n_ok.index) - set(keep))
    d = d[key.isin(keep)]
    if isinstance(measure, str):
        kw.setdefault("improvement", measures.MEASURES[measure].improvement)
    else:
        dropped = [tuple(x.split("\x1f")) for x in dropped]
        d["_improvement"] = d["measure"].map({n: measures.MEASURES[n].improvement for n in names})
        kw.setdefault("improvement", "_improvement")
        if targets:
            d["_target"] = d["measure"].map(targets).astype(float)
            kw.setdefault("target", "_target")
    res = spc(d, value="value", date="month", by=by, **kw)
    res.options["dropped"] = dropped
    res.options["measure"] = measure
    return res


def icon_table(agg: pd.DataFrame, dimension: str, measures_=(HEADLINE, "completed_over_18", "dna_rate")) -> pd.DataFrame:
    """Variation icon of each measure for each group of a dimension (rows groups, columns measures)."""
    ic = measure_spc(agg, list(measures_), dimension).icons()
    wide = ic.pivot(index="group", columns="measure", values="variation")
    out = pd.DataFrame({"Group": wide.index.astype(str)})
    for name in measures_:
        col = wide[name] if name in wide.columns else pd.Series(np.nan, index=wide.index, dtype=object)
        out[measures.MEASURES[name].label] = col.to_numpy()
    order = {g: i for i, g in enumerate(C.DIMENSIONS[dimension].groups)}
    return out.sort_values("Group", key=lambda s: s.map(order)).reset_index(drop=True)


def publishable_monthly(agg: pd.DataFrame, threshold: int = disclosure.DEFAULT_THRESHOLD,
                        rule: Rule | None = None) -> pd.DataFrame:
    """The aggregate form as published on its own (each provider's rows one release; see
    :func:`qi_equity.publication.metrics.publishable_aggregate`)."""
    return PM.publishable_aggregate(agg, rule or Rule(threshold=threshold))[0]


_clean, _records = PM.clean, PM.records
table, write_metrics, read_metrics = PM.table, PM.write_metrics, PM.read_metrics


def metrics(provider_code: str, provider_name: str, census_date, derived: pd.DataFrame, agg: pd.DataFrame,
            threshold: int = disclosure.DEFAULT_THRESHOLD, equity: Published | None = None,
            release_: REL.Release | None = None) -> dict:
    """Everything the collaborative report needs from one provider, as the release publishes it.

    No pathway-level data: the published cells (every count of the report, with its key: what
    the audit reads back), the monthly measures (all specialties), the equity table, data quality
    and the headline icons (from full data: a symbol, not a number).
    """
    rel = release_ if release_ is not None else release(derived, agg, census_date, None, threshold)
    allspec = agg[agg["specialty"] == "all"]
    names = (HEADLINE, "completed_over_18", "dna_rate")
    ic = measure_spc(agg, list(names), "all").icons().set_index("measure")
    icons = [{"measure": n, "variation": ic.loc[n, "variation"] if n in ic.index else None,
              "assurance": ic.loc[n, "assurance"] if n in ic.index else None} for n in names]
    eq = (equity or equity_summary(derived, census_date, threshold=threshold, release_=rel)).data
    dq = data_quality_table(derived, threshold, rel).data
    return PM.payload(rel, provider_code, provider_name, census_date, allspec,
                      pd.DataFrame(icons, columns=["measure", "variation", "assurance"]), eq, dq)


def build_metrics(config: str | Path, out_dir: str | Path, providers: list[str] | None = None,
                  validate: bool = True, threshold: int = disclosure.DEFAULT_THRESHOLD,
                  findings_dir: str | Path | None = None, workers: int = 1) -> list[Path]:
    """Write every provider's metrics file without running notebooks (no HTML), and with
    ``findings_dir`` its published findings too.

    The same metrics (and findings) the provider report writes: use it to feed the
    collaborative report or a national comparison quickly. ``workers > 1`` builds providers in
    that many forked processes (each provider is independent). Returns the metrics paths written.
    """
    from qi_equity.reports.config import Collaborative

    collab = Collaborative.load(config)
    jobs = [(p, collab.census_date, str(collab.lens_data or ""), str(out_dir), validate, threshold,
             str(findings_dir) if findings_dir is not None else None)
            for p in collab.providers if not providers or p["code"] in providers]
    from qi_equity.parallel import fork_map

    return fork_map(_build_one, jobs, workers)


def _build_one(job) -> Path:
    p, census, lens, out_dir, validate, threshold, findings_dir = job
    derived = load_provider(p["extract"], census, validate=validate)
    agg = monthly(derived, census, by_specialty=False)  # metrics: all specialties
    found = None
    if findings_dir is not None:
        from qi_equity.reports.findings import provider_findings

        found = provider_findings(derived, census, lens, p["code"])
    rel = release(derived, agg, census, found, threshold)
    path = Path(out_dir) / f"{p['code']}.json"
    write_metrics(path, metrics(p["code"], p["name"], census, derived, agg, threshold, release_=rel))
    if found is not None:
        from qi_equity.reports.findings import save_findings

        save_findings(Path(findings_dir) / f"{p['code']}.json", found, rel, census, p["name"])
    return path


def gap_spc(agg: pd.DataFrame, measure: str, dimension: str, group: str, reference: str,
            specialty: str = "all", statistic: str = "difference"):
    """SPC of the gap between a group and its reference on one measure (widening = concern).

    See :func:`qi_equity.variation.gap`; the orientation follows the measure's direction.
    """
    from qi_equity.variation import gap

    m = measures.MEASURES[measure]
    d = agg[(agg["measure"] == measure) & (agg["dimension"] == dimension) & (agg["specialty"] == specialty)].copy()
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    res = gap(d, reference=reference, groups=[group], higher_is_worse=m.improvement != "increase",
              statistic=statistic)
    res.options["measure"] = measure
    return res


#: Reference group of each published dimension (stated in the report).
REFERENCES = {"sex_age": "Male 16-64", "ethnic_group": "White", "imd_quintile": "Q5 least deprived"}
INEQUALITY_MEASURES = {  # name: (label, count column, denominator column)
    "dna_rate": ("Pathways with a DNA (%)", "dna", "dna_denominator"),
    "completed_over_18": ("Completed pathways over 18 weeks (%)", "over_18", "completed"),
}
_DERIVED = ["value", "lower", "upper", "difference", "difference_lower", "difference_upper", "ratio",
            "ratio_lower", "ratio_upper"]


def inequality_table(derived: pd.DataFrame, census_date, months: int = 12,
                     threshold: int = disclosure.DEFAULT_THRESHOLD, confidence: float = 0.95,
                     references: dict | None = None, release_: REL.Release | None = None) -> Published:
    """The core table of a provider report: measure x dimension x group -> count, value with
    interval, difference and ratio to the reference group with intervals, and a flag.

    Columns: ``measure, measure_label, dimension, group, x, n, value, lower, upper, reference,
    difference, difference_lower, difference_upper, ratio, ratio_lower, ratio_upper, flag``
    (see :func:`qi_equity.equity.compare_groups`). As the release publishes it: a value where its
    counts are published; a comparison only where the reference's counts are too (a difference
    plus a group's value would give the reference back).
    """
    from qi_equity.equity.compare import compare_groups

    rel = _own_release(derived, census_date, months, threshold, release_)
    refs = references or REFERENCES
    t = measures.equity_table(derived, census_date, months, dimensions=("all",) + tuple(refs))
    parts = []
    for name, (label, xcol, ncol) in INEQUALITY_MEASURES.items():
        for dim, ref in refs.items():
            d = t[t["dimension"] == dim].rename(columns={xcol: "x", ncol: "n"})[["group", "x", "n"]]
            d = d[d["n"] > 0]
            if ref not in set(d["group"]):
                continue
            c = compare_groups(d, "x", "n", reference=ref, confidence=confidence, multiplier=100)
            c.insert(0, "dimension", dim)
            c.insert(0, "measure_label", label)
            c.insert(0, "measure", name)
            parts.append(c)
    table = pd.concat(parts, ignore_index=True)
    period = _window_label(census_date, months)
    bases = {"dna_rate": ("dna", "first_appts"), "completed_over_18": ("over_18", "completed")}

    def k(which, group_col="group"):
        return pd.DataFrame({"measure": [bases[m][which] for m in table["measure"]], "period": period,
                             "specialty": "all", "dimension": table["dimension"], "group": table[group_col]})

    table["ref_x"] = rel.published(k(0, "reference"))
    table["ref_n"] = rel.published(k(1, "reference"))
    comp = ["difference", "difference_lower", "difference_upper", "ratio", "ratio_lower", "ratio_upper"]
    pub = mask_table(rel, table, counts={"x": k(0), "n": k(1)},
                     derived={**{c: ["x", "n"] for c in ["value", "lower", "upper"]},
                              **{c: ["x", "n", "ref_x", "ref_n"] for c in comp}})
    hidden_any = pub.mask[["x", "n"]].any(axis=1) | pub.data[["ref_x", "ref_n"]].isna().any(axis=1)
    pub.data.loc[hidden_any, "flag"] = ""
    return _drop(pub, ["ref_x", "ref_n"])


def inequality_display(pub: Published) -> pd.DataFrame:
    d = pub.display(1)

    def ci(v, lo, hi, dec=1):
        return [a if (a in ("*", "") or b in ("*", "")) else f"{a} ({b} to {c})" for a, b, c in zip(d[v], d[lo], d[hi])]

    ratio = pub.data["ratio"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    rl = pub.data["ratio_lower"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    ru = pub.data["ratio_upper"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    ratio_txt = [("*" if m else (r if not a else f"{r} ({a} to {b})")) for r, a, b, m in
                 zip(ratio, rl, ru, pub.mask["ratio"])]
    out = pd.DataFrame({"Measure": d["measure_label"], "Group": d["group"], "Count": d["x"], "Of": d["n"],
                        "% (95% CI)": ci("value", "lower", "upper"),
                        "Gap vs reference, pp (95% CI)": ci("difference", "difference_lower", "difference_upper"),
                        "Ratio (95% CI)": ratio_txt, "Reference": d["reference"], "Flag": d["flag"]})
    cells = d.attrs.get("cells", {})
    out.attrs["cells"] = {disp: cells[src] for disp, src in (("Count", "x"), ("Of", "n")) if src in cells}
    return out


#: The HEAT summary measures a provider report shows: (measure, column heading, sign, decimals).
#: PAF is shown with its sign turned: for an unfavourable measure it is negative, and a board
#: reads it as the share of the average that would go if every group matched the best.
HEAT_SHOWN = (("D", "Gap, highest - lowest group (pp)", 1, 1), ("R", "Ratio, highest / lowest group", 1, 2),
              ("PAF", "Reduction if every group matched the best (%)", -1, 1))
HEAT_NOTE = ("Summary measures of inequality as WHO's Health Equity Assessment Toolkit (HEAT) defines them, "
             "with 95% intervals: the gap and ratio between the highest and lowest groups, and how much "
             "lower the average would be if every group did as well as the best one. They use only the "
             "groups whose counts are shown (\"Groups\": used of recorded), each weighted by its number of "
             "pathways. The reduction's interval is simulated as HEAT does: each simulation picks its own "
             "best group, so when the groups are close the interval can sit above the estimate.")


def heat_table(pub: Published, confidence: float = 0.95, reps: int = 10_000, seed: int = 20261203) -> pd.DataFrame:
    """WHO HEAT summary measures of each measure and dimension of a published inequality table.

    Computed only from what ``pub`` publishes: the groups whose count and denominator are both
    shown (a hidden group is left out, so no measure can give a hidden count back), recorded
    groups only (not known / not stated / unmatched are a data-quality measure, not a group).
    Each group's estimate is its percentage, weighted by its denominator, with the binomial
    standard error ``100 sqrt(p (1 - p) / n)``; the best group is the lowest (both measures are
    unfavourable when high). Intervals as :func:`qi_equity.equity.summary_measures` gives them
    (analytic for D, R, BGV, TI, MLD; simulated for MDB, MDM, PAR, PAF).

    Returns
    -------
    pandas.DataFrame
        ``measure, measure_label, dimension, groups_used, groups, summary, value, lower, upper,
        ci_method, definition``: one row per measure x dimension x summary measure, for every
        measure x dimension with at least two published recorded groups.

    References
    ----------
    .. [1] World Health Organization (2024). *Health Equity Assessment Toolkit (HEAT): technical
           notes*, summary measures and their confidence intervals.
    """
    from qi_equity.equity.compare import summary_measures

    d = pub.data
    rows = []
    for (measure, dim), g in d.groupby(["measure", "dimension"], sort=False):
        dimension = C.DIMENSIONS.get(dim)
        recorded = ~g["group"].isin(dimension.unrecorded if dimension else ())
        shown = recorded & g["x"].notna() & g["n"].gt(0) & ~pub.mask.loc[g.index, "x"] & ~pub.mask.loc[g.index, "n"]
        use = g[shown]
        if len(use) < 2:
            continue
        p = use["x"].to_numpy(float) / use["n"].to_numpy(float)
        frame = pd.DataFrame({"group": use["group"].to_numpy(), "value": 100 * p, "population": use["n"].to_numpy(float),
                              "se": 100 * np.sqrt(p * (1 - p) / use["n"].to_numpy(float))})
        s = summary_measures(frame, se="se", confidence=confidence, reps=reps, seed=seed)
        s = s.rename(columns={"measure": "summary"})
        s.insert(0, "groups", int(recorded.sum()))
        s.insert(0, "groups_used", len(use))
        s.insert(0, "dimension", dim)
        s.insert(0, "measure_label", g["measure_label"].iloc[0])
        s.insert(0, "measure", measure)
        rows.append(s)
    cols = ["measure", "measure_label", "dimension", "groups_used", "groups", "summary", "value", "lower", "upper",
            "ci_method", "definition"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def heat_display(heat: pd.DataFrame, shown=HEAT_SHOWN) -> pd.DataFrame:
    """One row per measure and dimension, one column per summary measure in ``shown``
    (``value (lower to upper)``) for a report; ``Groups`` is groups used of recorded groups."""
    out = []
    for (m, dim), g in heat.groupby(["measure", "dimension"], sort=False):
        row = {"Measure": g["measure_label"].iloc[0],
               "Compared across": C.DIMENSIONS[dim].label if dim in C.DIMENSIONS else dim,
               "Groups": f"{int(g['groups_used'].iloc[0])} of {int(g['groups'].iloc[0])}"}
        by = g.set_index("summary")
        for k, label, sign, dec in shown:
            v, lo, hi = (sign * by.at[k, c] if k in by.index else np.nan for c in ("value", "lower", "upper"))
            lo, hi = min(lo, hi), max(lo, hi)
            row[label] = ("" if pd.isna(v) else f"{v:.{dec}f}" if pd.isna(lo)
                          else f"{v:.{dec}f} ({lo:.{dec}f} to {hi:.{dec}f})")
        out.append(row)
    return pd.DataFrame(out)


def sii_by_decile(derived: pd.DataFrame, census_date, measure: str = "dna_rate", months: int = 12,
                  threshold: int = disclosure.DEFAULT_THRESHOLD, reps: int = 20_000,
                  release_: REL.Release | None = None):
    """Counts by IMD decile over the window and the SII/RII of the measure (percentages).

    Returns ``(deciles, result, note)``: ``deciles`` has ``quantile, x, population, value,
    lower, upper``; ``result`` is one row of :func:`qi_equity.equity.sii` (None with a ``note``
    when a decile is empty or its counts are not published: the SII needs every decile, and a
    chart of nine deciles would give the tenth back).
    """
    from qi_equity.equity import proportion_ci, sii

    rel = _own_release(derived, census_date, months, threshold, release_)
    win = measures.window(census_date, months)
    if measure == "dna_rate":
        base = derived[derived["first_appointment_month"].isin(win)]
        flag = base["any_dna"]
        num, den = "dna", "first_appts"
    else:
        base = derived[derived["completed"] & derived["clock_stop_month"].isin(win)]
        flag = base["over_18_weeks"]
        num, den = "over_18", "completed"
    g = pd.DataFrame({"quantile": base["imd_decile"], "x": flag.astype(int)}).dropna()
    dec = g.groupby("quantile").agg(x=("x", "sum"), population=("x", "size")).reindex(range(1, 11), fill_value=0)
    dec = dec.reset_index().rename(columns={"index": "quantile"})
    period = _window_label(census_date, months)
    keys = lambda m: pd.DataFrame({"measure": m, "period": period, "specialty": "all", "dimension": "imd_decile",
                                   "group": dec["quantile"].astype(int).astype(str)})
    px, pp = rel.published(keys(num)), rel.published(keys(den))
    if (dec["population"] == 0).any() or np.isnan(px).any() or np.isnan(pp).any():
        return dec, None, "Not shown: at least one IMD decile has too few pathways to publish (suppression) or none."
    ci = proportion_ci(dec["x"], dec["population"], multiplier=100)
    dec["value"], dec["lower"], dec["upper"] = ci["value"], ci["lower"], ci["upper"]
    res = sii(dec, value=None, x="x", population="population", kind="proportion", multiplier=100, reps=reps)
    return dec, res, ""


#: The constitutional RTT standard: 92% of the waiting list within 18 weeks. For completed
#: pathways the kit uses 8% over 18 weeks as an assurance target (a stated simplification).
OVER_18_TARGET = 8.0


SUMMARY_NOTE = ("Over time: what the scan found on every month of the full data (not only the latest point). "
                "'Too few to tell': the groups have too few pathways in too many months for the scan to test a "
                "change, so the kit says nothing either way. 'n/a': no chart could be drawn. Assurance is given only "
                "against a target (the 18-week standard); blank where there is none. Icons: Making Data Count "
                "(orange a concern, blue an improvement, grey common cause; H higher, L lower; P meets, F misses the "
                "target, ? hit and miss).")


def summary_table(derived: pd.DataFrame, agg: pd.DataFrame, census_date, months: int = 12,
                  threshold: int = disclosure.DEFAULT_THRESHOLD, equity: Published | None = None,
                  inequality: Published | None = None, found=None, release_: REL.Release | None = None) -> pd.DataFrame:
    """The report's opening table: for each measure x equity dimension, the group furthest
    from its reference (worse side), its value, the gap and ratio with intervals, the
    variation icon of the gap over time, the variation icon of the measure for all patients,
    and assurance against the 18-week standard.

    Built only from suppressed tables (:func:`inequality_table`, :func:`equity_summary`) and
    the suppressed monthly aggregate, so it publishes nothing they do not. ``equity`` and
    ``inequality``, when given, are those two tables already computed with the same
    ``months`` and ``threshold`` (a report computes them once). With ``found`` (the provider's
    :func:`qi_equity.findings.scan` result), "Gap over time" and "All patients" say what the scan
    found on the full-data series ("widening since October 2024", "no change found", "too few to
    tell") instead of the latest point's icon on the suppressed series.
    """
    rel = release_ if release_ is not None else (
        None if (inequality is not None and equity is not None) else release(derived, agg, census_date, None, threshold, months))
    ineq = (inequality or inequality_table(derived, census_date, months, threshold, release_=rel)).data
    eq = (equity or equity_summary(derived, census_date, months, threshold, release_=rel)).data
    rows = []
    names = (HEADLINE, "completed_over_18", "dna_rate")
    ic = measure_spc(agg, list(names), "all", targets={"completed_over_18": OVER_18_TARGET}).icons()
    all_icons = {n: (None, None) for n in names}
    all_icons.update({r.measure: (None if pd.isna(r.variation) else r.variation,
                                  None if pd.isna(r.assurance) else r.assurance) for r in ic.itertuples()})
    skip = {"Not known 0-15", "Not known 16-64", "Not known 65+", "Not stated", "Not known", "Unmatched"}
    largest = []  # (measure, dimension, group, reference, row): the gaps' SPC is computed once per dimension
    for name in names:
        label = measures.MEASURES[name].label
        for dim, ref in REFERENCES.items():
            if name == HEADLINE:
                e = eq[eq["dimension"] == dim].set_index("group")
                cand = e.drop(index=[g for g in e.index if g in skip or g == ref], errors="ignore")
                cand = cand[cand["median_wait"].notna()]
                if cand.empty or ref not in e.index or pd.isna(e.loc[ref, "median_wait"]):
                    continue
                g = cand["median_wait"].idxmax()
                value, refv = cand.loc[g, "median_wait"], e.loc[ref, "median_wait"]
                gap_txt, ratio_txt = f"{value - refv:+.1f} wk", f"{value / refv:.2f}"
                value_txt, ref_txt = f"{value:.1f} wk", f"{refv:.1f} wk"
            else:
                t = ineq[(ineq["measure"] == name) & (ineq["dimension"] == dim)].set_index("group")
                cand = t.drop(index=[x for x in t.index if x in skip or x == ref], errors="ignore")
                cand = cand[cand["difference"].notna()]
                if cand.empty:
                    continue
                g = cand["difference"].idxmax()
                c = cand.loc[g]
                value_txt = f"{c['value']:.1f}% ({c['lower']:.1f} to {c['upper']:.1f})"
                ref_txt = f"{t.loc[ref, 'value']:.1f}%"
                gap_txt = f"{c['difference']:+.1f} pp ({c['difference_lower']:.1f} to {c['difference_upper']:.1f})"
                ratio_txt = (f"{c['ratio']:.2f} ({c['ratio_lower']:.2f} to {c['ratio_upper']:.2f})"
                             if pd.notna(c["ratio_lower"]) else f"{c['ratio']:.2f}")
            largest.append((name, dim, g, ref))
            rows.append({"Measure": label, "Dimension": C.DIMENSIONS[dim].label, "Reference": f"{ref}: {ref_txt}",
                         "Largest gap": f"{g}: {value_txt}", "Gap (95% CI)": gap_txt, "Ratio (95% CI)": ratio_txt,
                         "Gap over time": None,
                         "All patients: variation": all_icons[name][0] or "n/a",
                         "Assurance": all_icons[name][1] or ""})
    if found is not None:
        from qi_equity.reports.findings import change_status

        for row, (name, dim, g, ref) in zip(rows, largest):
            row["Gap over time"] = change_status(found, name, dim, g, ref)
            row["All patients: variation"] = change_status(found, name, "all", "All")
        out = pd.DataFrame(rows).rename(columns={"All patients: variation": "All patients over time"})
        out.attrs["icons"] = {"Gap over time": "scan", "All patients over time": "scan", "Assurance": "assurance"}
        return out
    trends = _gap_trends(agg, largest)
    for row, key in zip(rows, largest):
        row["Gap over time"] = trends.get(key) or "n/a"
    out = pd.DataFrame(rows)
    out.attrs["icons"] = {"Gap over time": "variation", "All patients: variation": "variation", "Assurance": "assurance"}
    return out


def _gap_trends(agg: pd.DataFrame, wanted: list[tuple[str, str, str, str]]) -> dict:
    """Variation icon of the gap's XmR chart for each (measure, dimension, group, reference):
    one :func:`~qi_equity.variation.gap` call per dimension and direction, for all its measures
    (the same as :func:`gap_spc` one by one, which is the fallback when a batch fails, e.g. a
    series with no published months). Missing: no icon."""
    from qi_equity.variation import gap

    out = {}
    batches: dict = {}
    for key in wanted:
        name, dim, g, ref = key
        batches.setdefault((dim, ref, measures.MEASURES[name].improvement != "increase"), []).append(key)
    for (dim, ref, worse_high), keys in batches.items():
        names = sorted({k[0] for k in keys})
        d = agg[agg["measure"].isin(names) & (agg["dimension"] == dim) & (agg["specialty"] == "all")].copy()
        d.loc[~(d["denominator"] > 0), "value"] = np.nan
        try:
            ic = gap(d, reference=ref, groups=sorted({k[2] for k in keys}), by=["measure"],
                     higher_is_worse=worse_high).icons()
            found = {(r.measure, r.group): None if pd.isna(r.variation) else r.variation for r in ic.itertuples()}
            for k in keys:
                out[k] = found.get((k[0], k[2]))
        except Exception:
            for k in keys:
                try:
                    res = gap_spc(agg, k[0], dim, k[2], ref)
                    out[k] = res.icons()["variation"].iloc[0] if len(res.points) else None
                except Exception:  # a gap series with no published months
                    out[k] = None
    return out


def stage_summary(derived: pd.DataFrame, census_date, dimension: str = "sex_age", specialty: str | None = None,
                  months: int = 12, threshold: int = disclosure.DEFAULT_THRESHOLD,
                  release_: REL.Release | None = None) -> tuple[Published, dict]:
    """Pathway stages by group (see :func:`qi_equity.system.stage_analysis`) as the release
    publishes them, and where each group's gap to the reference opens: ``{group: stage label}``
    (only for groups whose counts are published)."""
    from qi_equity.system import STAGES, gap_opens_at, stage_analysis

    if specialty not in (None, "all"):
        raise ValueError("the published stage table is for all specialties (findings cover each specialty)")
    rel = release_ if release_ is not None else _alone(
        pd.concat([REL.stage_cells(derived, census_date, dimension, months),
                   REL.referral_cells(derived, census_date, months, (dimension, "all"))], ignore_index=True), threshold)
    s = stage_analysis(derived, census_date, dimension, months, None).reset_index(drop=True)
    opens = {}
    for g in s["group"].unique():
        if g == s["reference"].iloc[0]:
            continue
        st = gap_opens_at(s, g)
        step = s[(s.group == g) & (s.stage == st)]["gap_step"]
        if st and len(step) and step.iloc[0] > 0:
            opens[g] = STAGES[st]
    period = _window_label(census_date, months)
    first = s["stage"] == "referral_to_first_appointment"
    s["converted"] = np.round(s["converted_pct"] * s["cohort"] / 100)
    k = lambda m: pd.DataFrame({"measure": m, "period": period, "specialty": "all", "dimension": dimension,
                                "group": s["group"]})
    cohort_base = np.where(first, "referrals", "seen_completed")
    conv_base = np.where(first, "referrals_seen", "seen_treated")
    cols = ["group", "stage_label", "completed", "median_weeks", "cohort", "converted", "converted_pct", "gap_weeks"]
    ref = s["reference"].iloc[0]
    s["ref_completed"] = s["stage"].map(s[s["group"] == ref].set_index("stage")["completed"])
    pub = mask_table(rel, s[cols + ["ref_completed"]],
                     counts={"completed": k("stage_completed"), "cohort": k(cohort_base), "converted": k(conv_base),
                             "ref_completed": k("stage_completed").assign(group=ref)},
                     derived={"converted_pct": ["cohort", "converted"]},
                     medians={"median_weeks": "completed", "gap_weeks": "completed"})
    gap_ok = pub.mask["ref_completed"].to_numpy() | ~rel.median_ok(pub.data["ref_completed"].to_numpy(float))
    pub.mask.loc[gap_ok, "gap_weeks"] = True
    pub.data.loc[gap_ok, "gap_weeks"] = np.nan
    hidden = set(pub.data.loc[pub.mask["completed"] | pub.mask["cohort"], "group"])
    opens = {g: v for g, v in opens.items() if g not in hidden}
    return _drop(pub, ["ref_completed", "converted"]), opens


