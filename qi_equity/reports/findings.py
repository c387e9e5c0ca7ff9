"""Report blocks for findings: "What stands out", the charts behind it, and the files.

The provider report opens on :func:`show_findings` (the headline findings, strongest first,
each a sentence with its interval and a link to its chart) and closes its analysis with
:func:`show_finding_charts` (one chart per headline, under the anchor the link points to,
with the findings it stands for). Everything shown comes from the published form of the
findings (:func:`qi_equity.publication.publish_findings`), so the report and
``findings/<code>.json`` say the same.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.data import vocabulary as V
from qi_equity.findings import FindingsResult, scan
from qi_equity.publication import publish_findings, write_findings
from qi_equity.publication.release import SCAN_BASES, Release, SeriesRequest, _period_labels


def provider_findings(derived: pd.DataFrame, census_date, lens_data: str = "", provider_code: str = "",
                      flags: dict | None = None, settings=None) -> FindingsResult:
    """Scan a provider (:func:`qi_equity.findings.scan`), with its engagement log and catchment
    population from ``lens_data`` when they are there (for the seldom-heard tests)."""
    engagement = population = None
    if lens_data:
        root = Path(lens_data)
        if (root / "engagement" / "activities.csv").exists() and (root / "population.csv").exists():
            from qi_equity.psychology import load_engagement

            code = provider_code or str(derived["provider_code"].iloc[0])
            log = load_engagement(root / "engagement", code)
            if len(log["activities"]):
                pop = pd.read_csv(root / "population.csv", dtype={"provider_code": str})
                engagement, population = log, pop[pop["provider_code"] == code]
    return scan(derived, census_date, engagement=engagement, population=population, flags=flags, settings=settings)


def published_findings(result: FindingsResult, release: Release) -> pd.DataFrame:
    """The findings as the release publishes them (the columns of ``findings.json``)."""
    p = publish_findings(result, release)["findings"]
    return pd.DataFrame(p["data"], columns=p["columns"])


#: The variation charts of the provider report (drawn from the scan's full-data cells, at the
#: grain the data allow; what is drawn is what the release publishes).
VARIATION_CHARTS = [
    dict(measure="completed_median_wait", dimension="all", groups=["All"],
         title="Median wait of pathways completed in the month (weeks)", ylabel="weeks"),
    dict(measure="completed_median_wait", dimension="sex_age", groups=["Female 16-64", "Male 16-64", "Female 65+", "Male 65+"],
         title="Median wait by sex and working age (weeks)"),
    dict(measure="completed_median_wait", dimension="sex_age", groups=["Female 16-64"], reference="Male 16-64",
         title="Median wait: working-age women minus working-age men (weeks)"),
    dict(measure="dna_rate", dimension="imd_quintile", groups=["Q1 most deprived"], reference="Q5 least deprived",
         title="DNA: most minus least deprived (percentage points)"),
    dict(measure="dna_rate", dimension="imd_quintile", groups=["Q1 most deprived", "Q5 least deprived"],
         title="Pathways with a DNA (%), most and least deprived quintiles"),
]
MAX_CHARTS = 12


def _finding_grain(result: FindingsResult, r) -> int:
    grain = int(r["grain"]) if pd.notna(r["grain"]) else 0
    if grain == 0 and r["kind"] == "gap_now":
        from qi_equity.plotting.findings import _gap_grain

        grain = _gap_grain(result, r)
    return grain


def finding_series(result: FindingsResult, finding) -> SeriesRequest | None:
    """The series a finding's chart draws (None when it has none)."""
    from qi_equity.findings.cells import EVERYONE_ELSE

    r = result.data.set_index("finding_id").loc[finding] if isinstance(finding, str) else finding
    if r["kind"] not in ("gap_now", "gap_changing", "improvement", "group_changing") or r["measure"] not in SCAN_BASES:
        return None
    grain = _finding_grain(result, r)
    if grain <= 0:
        return None
    ref = None
    if r["kind"] != "group_changing" and r["reference_group"] != EVERYONE_ELSE and int(r["ref_cell"]) >= 0:
        ref = r["reference_group"]
    return SeriesRequest(r["measure"], str(r["specialty"]), r["dimension"], r["group"], ref, grain)


def report_series(found: FindingsResult, max_charts: int = MAX_CHARTS) -> list[SeriesRequest]:
    """Every series the provider report draws: the headline findings' charts and the variation
    charts (:data:`VARIATION_CHARTS`), each at its grain."""
    out = []
    heads = found.data[found.data["headline"].astype(bool) & (found.data["kind"] != "too_few")].head(max_charts)
    for _, r in heads.iterrows():
        s = finding_series(found, r)
        if s is not None:
            out.append(s)
    for spec in VARIATION_CHARTS:
        ref = spec.get("reference")
        refc = _cell(found, "all", spec["dimension"], ref) if ref else -1
        for g in spec["groups"]:
            cell = _cell(found, "all", spec["dimension"], g)
            if cell < 0:
                continue
            grain = _grain(found, "gap_change" if ref else "group_change", spec["measure"], cell, refc)
            if grain:
                out.append(SeriesRequest(spec["measure"], "all", spec["dimension"], g, ref, grain))
    return out


def published_series(found: FindingsResult, release: Release, s: pd.DataFrame, req: SeriesRequest) -> pd.DataFrame:
    """A series frame (:func:`qi_equity.findings.build.series_frame`) with the periods whose counts
    the release does not publish set to NaN (a median also below the minimum base); the values
    drawn are then values the release publishes."""
    from qi_equity.publication.cells import KEY

    labels = _period_labels(pd.DatetimeIndex(s["date"]), req.grain)
    den, num = SCAN_BASES[req.measure]
    ok = np.ones(len(s), dtype=bool)
    for g in [req.group] + ([req.reference] if req.reference else []):
        for b in (den, num):
            if not b:
                continue
            k = pd.DataFrame({"measure": b, "period": labels, "specialty": req.specialty, "dimension": req.dimension,
                              "group": g})[KEY]
            v = release.published(k)
            ok &= ~np.isnan(v)
            if b == den and num is None:
                ok &= release.median_ok(v)
    out = s.copy()
    out.loc[~ok, "value"] = np.nan
    out.attrs["hidden_periods"] = int((~ok & s["value"].notna()).sum())
    return out


def findings_html(findings: pd.DataFrame, summary: pd.DataFrame | None = None, link: bool = True,
                  max_items: int | None = None, actions: pd.DataFrame | None = None) -> str:
    """The "What stands out" list: headline findings as sentences, strongest first, each with a
    link to its chart; groups too small to tell; how the findings were found. With ``actions``
    (:func:`qi_equity.reports.actions.provider_actions`), each finding shows the actions recorded
    against it or any of its related findings, or "No action recorded"."""
    from qi_equity.reports.actions import action_line_html, cluster_actions

    f = findings
    heads = f[f["headline"].astype(bool) & (f["kind"] != "too_few")]
    if max_items:
        heads = heads.head(max_items)
    items = []
    for r in heads.itertuples():
        also = [x for x in str(r.also).split() if x]
        more = f" <span class='qi-also'>(and {len(also)} related finding{'s' if len(also) != 1 else ''})</span>" if also else ""
        a = (f" <a href='#{html.escape(r.chart_id)}'>See the chart</a>" if link and r.kind != "too_few" else "")
        acts = "" if actions is None else action_line_html(r.finding_id, cluster_actions(actions, [r.finding_id] + also))
        items.append(f"<li class='qi-finding qi-kind-{html.escape(r.kind)}'><span class='qi-kind'>"
                     f"{html.escape(V.kind(r.kind))}</span> {html.escape(str(r.sentence))}{more}{a}{acts}</li>")
    n_tests = int(summary["tests"].iloc[0]) if summary is not None and len(summary) else None
    how = ("" if n_tests is None else
           f"<p class='qi-note'>Found by scanning {n_tests:,} comparisons and series (every equity group, "
           f"all specialties and each large one, every flow measure), with the false discovery rate held at "
           f"{100 * float(summary['q'].iloc[0]):.0f}% across all of them; a gap counts only when it is confidently "
           f"more than {100 * (float(summary['margin'].iloc[0]) - 1):.0f}% worse than its reference. "
           "Methods: docs/findings.md.</p>")
    if not items:
        body = ("<p class='qi-nothing'><strong>Nothing stands out.</strong> No gap between groups, change over "
                "time or recording problem passed the kit's tests.</p>")
    else:
        body = "<ol class='qi-findings'>" + "".join(items) + "</ol>"
    few = f[f["kind"] == "too_few"]
    if len(few):
        all_measures = few["measure_list"].str.count(",") >= 5  # too few for every scanned measure
        whole = sorted({V.group(d, g) for d, g in zip(few.loc[all_measures, "dimension"], few.loc[all_measures, "group"])})
        part = sorted({V.group(d, g) for d, g in zip(few.loc[~all_measures, "dimension"], few.loc[~all_measures, "group"])})
        text = ("<strong>Too few to tell</strong>: some groups have fewer pathways than a test needs, so the kit "
                "says nothing either way about them. ")
        if whole:
            text += f"Too few for any measure: {html.escape('; '.join(whole))}. "
        if part:
            text += (f"<details><summary>Too few for some measures ({len(part)} more groups)</summary>"
                     f"{html.escape('; '.join(part))}.</details>")
        body += f"<div class='qi-note'>{text}</div>"
    return body + how


def show_findings(result: FindingsResult, release: Release, max_items: int | None = None,
                  actions: pd.DataFrame | None = None):
    """Display "What stands out" (see :func:`findings_html`), as the release publishes it."""
    from IPython.display import display

    pub = published_findings(result, release)
    heads = pub[pub["headline"].astype(bool) & (pub["kind"] != "too_few")]
    text = "\n".join(f"- {s}" for s in heads["sentence"]) or "Nothing stands out."
    display({"text/html": findings_html(pub, result.summary, max_items=max_items, actions=actions),
             "text/plain": text}, raw=True)


def finding_charts_html(result: FindingsResult, release: Release, max_charts: int = MAX_CHARTS,
                        actions: pd.DataFrame | None = None) -> str:
    """One section per headline finding: its chart (under the anchor "What stands out" links to)
    and the related findings of its cluster. A chart draws only periods the release publishes."""
    from qi_equity.findings.build import series_frame
    from qi_equity.reports.actions import action_line_html, cluster_actions
    from qi_equity.reports.display import figure_html

    pub = published_findings(result, release).set_index("finding_id", drop=False)
    heads = pub[pub["headline"].astype(bool) & (pub["kind"] != "too_few")].head(max_charts)
    parts = []
    for r in heads.itertuples():
        try:
            req = finding_series(result, r.finding_id)
            series = None
            note = ""
            if req is not None:
                full = result.data.set_index("finding_id").loc[r.finding_id]
                ref_cell = int(full["ref_cell"]) if full["kind"] != "group_changing" else -1
                series = published_series(result, release, series_frame(result.cells, req.measure, req.grain,
                                                                         int(full["cell"]), ref_cell), req)
                if series.attrs["hidden_periods"]:
                    note = (f" {series.attrs['hidden_periods']} period(s) not drawn: their counts are too small to "
                            "publish (the finding was tested on every period).")
            fig = result.plot(r.finding_id, series=series, published=r._asdict())
            chart = figure_html(fig, caption=str(r.evidence) + note)
        except (ValueError, KeyError) as exc:  # a finding with nothing to chart says so
            chart = f"<p class='qi-note'>No chart: {html.escape(str(exc))}</p>"
        related = [(x, pub.loc[x, "sentence"]) for x in str(r.also).split() if x in pub.index]

        def named(fid):  # the actions naming this related finding itself, or that no action does
            if actions is None:
                return ""
            ids = cluster_actions(actions, [fid])["action_id"].tolist() if len(actions) else []
            return (f" <span class='qi-fid'>(action {html.escape(', '.join(ids))})</span>" if ids else
                    f" <span class='qi-fid'>({html.escape(fid)}: no action recorded)</span>")

        rel = ("<details><summary>Also seen in " + str(len(related)) + " related finding"
               + ("s" if len(related) != 1 else "") + "</summary><ul>"
               + "".join(f"<li>{html.escape(str(s))}{named(x)}</li>" for x, s in related) + "</ul></details>"
               ) if related else ""
        acts = "" if actions is None else action_line_html(
            r.finding_id, cluster_actions(actions, [r.finding_id] + [x for x, _ in related]))
        parts.append(f"<section class='qi-finding-detail' id='{html.escape(r.chart_id)}'><h3>"
                     f"{html.escape(V.kind(r.kind))}: {html.escape(V.sentence_case(V.group(r.dimension, r.group)))}</h3>"
                     f"<p>{html.escape(str(r.sentence))}</p>{acts}{chart}{rel}</section>")
    return "".join(parts) or "<p>No findings to chart.</p>"


def show_finding_charts(result: FindingsResult, release: Release, max_charts: int = MAX_CHARTS,
                        actions: pd.DataFrame | None = None):
    from IPython.display import display

    display({"text/html": finding_charts_html(result, release, max_charts, actions),
             "text/plain": f"[{len(result.headlines())} finding charts]"}, raw=True)


def save_findings(path: str | Path, result: FindingsResult, release: Release, census_date, provider_name: str = ""):
    """Write ``findings/<code>.json`` (the findings as the release publishes them)."""
    write_findings(path, publish_findings(result, release, census_date, provider_name))


# ------------------------------------------------------------------------------------------
# Charts and icons from the scan's cells (full data, at the grain the data allow)
# ------------------------------------------------------------------------------------------

def _cell(found: FindingsResult, specialty: str, dimension: str, group: str) -> int:
    c = found.cells.cells
    m = c[(c["specialty"] == specialty) & (c["dimension"] == dimension) & (c["group"] == group)]
    return int(m["cell"].iloc[0]) if len(m) else -1


def _grain(found: FindingsResult, family: str, measure: str, cell: int, ref_cell: int = -1) -> int:
    t = found.tests
    m = t[(t["family"] == family) & (t["measure"] == measure) & (t["cell"] == cell)]
    if family == "gap_change":
        m = m[m["ref_cell"] == ref_cell]
    if m.empty or not bool(m["tested"].iloc[0]):
        return 0
    return int(m["grain"].iloc[0])


def series_spc(found: FindingsResult, measure: str, dimension: str = "all", groups=None, reference: str | None = None,
               specialty: str = "all", release: Release | None = None):
    """SPC of groups' series (or of their gaps to ``reference``) from the scan's full-data cells,
    each at the grain its numbers allow (:func:`qi_equity.findings.scan.choose_grain`).

    Returns ``(result, too_few)``: an :class:`~qi_equity.variation.SPCResult` keyed by ``group``
    (None when no series can be charted) and the groups with too few pathways to chart -- never
    charted, so never called common cause. With ``release``, the periods whose counts it does
    not publish are gaps (the limits then rest on published periods only).
    """
    from qi_equity.findings.build import series_frame
    from qi_equity.variation import spc

    dim = found.cells.dimensions.get(dimension)
    if dim is None:
        raise ValueError(f"dimension {dimension!r} was not scanned")
    groups = list(groups) if groups is not None else [g for g in dim.groups if g not in dim.unrecorded
                                                      and g != (reference or "")]
    ref = _cell(found, specialty, dimension, reference) if reference else -1
    parts, too_few = [], []
    for g in groups:
        cell = _cell(found, specialty, dimension, g)
        grain = _grain(found, "gap_change" if reference else "group_change", measure, cell, ref) if cell >= 0 else 0
        if grain == 0:
            too_few.append(g)
            continue
        s = series_frame(found.cells, measure, grain, cell, ref)
        if release is not None:
            s = published_series(found, release, s, SeriesRequest(measure, specialty, dimension, g, reference, grain))
            if s["value"].notna().sum() < 2:
                too_few.append(g)
                continue
        parts.append(s[["date", "value"]].assign(group=g))
    if not parts:
        return None, too_few
    long = pd.concat(parts, ignore_index=True)
    res = spc(long, value="value", date="date", by=["group"], improvement="decrease", freq=None)
    res.options["too_few"] = too_few
    return res, too_few


def series_chart(found: FindingsResult, measure: str, dimension: str = "all", groups=None, reference: str | None = None,
                 specialty: str = "all", title: str | None = None, ylabel: str | None = None, ncols: int = 2,
                 release: Release | None = None):
    """The chart of :func:`series_spc`: small multiples, and a line naming the groups too few to
    chart (in the figure and its alt text). With ``release``, only published periods are drawn."""
    from qi_equity.plotting import new_figure

    res, too_few = series_spc(found, measure, dimension, groups, reference, specialty, release)
    names = [V.group(dimension, g) for g in too_few]
    note = (f"Too few to tell (fewer pathways in some periods than a chart needs): {'; '.join(names)}."
            if names else "")
    if res is None:
        fig, axes = new_figure(height=1.1, layout=None)
        ax = axes[0, 0]
        ax.set_axis_off()
        ax.text(0.0, 0.5, (title + "\n" if title else "") + note, fontsize=10, va="center", ha="left", wrap=True)
        fig.qi_alt_text = (title + ": " if title else "") + note
        return fig
    if names and title:  # the title promises more series than are drawn: say which are
        drawn = [g for g in (groups or []) if g not in too_few]
        if drawn:
            import textwrap

            title = textwrap.fill(f"{title}: {'; '.join(V.group(dimension, g) for g in drawn)} only", 95)
    fig = res.plot(title=title, ylabel=ylabel, ncols=ncols)
    if note:
        fig.text(0.01, 0.005, note, fontsize=8, color="#555555", ha="left", va="bottom", wrap=True)
        fig.qi_alt_text = fig.qi_alt_text + " " + note
    return fig


def icon_table(found: FindingsResult, dimension: str,
               measures=("completed_median_wait", "completed_over_18", "dna_rate")) -> pd.DataFrame:
    """Variation icon of each measure for each group of a dimension (rows groups, columns measures),
    from full-data series at their grain; "too_few" where a series has too few pathways to chart."""
    dim = found.cells.dimensions[dimension]
    groups = [g for g in dim.groups if g not in dim.unrecorded]
    out = pd.DataFrame({"Group": groups})
    for m in measures:
        res, too_few = series_spc(found, m, dimension, groups)
        icons = res.icons().set_index("group")["variation"] if res is not None else pd.Series(dtype=object)
        out[V.measure(m, "label")] = ["too_few" if g in too_few else icons.get(g) for g in groups]
    present = set(found.cells.cells.loc[(found.cells.cells["dimension"] == dimension)
                                        & (found.cells.cells["specialty"] == "all")
                                        & (found.cells.cells["pathways"] > 0), "group"])
    return out[out["Group"].isin(present)].reset_index(drop=True)


def change_status(found: FindingsResult, measure: str, dimension: str, group: str, reference: str | None = None,
                  specialty: str = "all") -> str:
    """What the scan says about a series over time, in words: "widening since October 2024",
    "improving since ...", "no change found" or "too few to tell" (never "common cause")."""
    from qi_equity.findings.words import month

    d = found.data
    kinds = ["gap_changing", "improvement"] if reference else ["group_changing"]
    hit = d[d["kind"].isin(kinds) & (d["measure"] == measure) & (d["dimension"] == dimension) & (d["group"] == group)
            & (d["specialty"] == specialty)]
    if reference:
        hit = hit[hit["reference_group"] == reference]
    if len(hit):
        r = hit.iloc[0]
        return f"{r['direction']} since {month(r['period_start'])}"
    cell = _cell(found, specialty, dimension, group)
    ref = _cell(found, specialty, dimension, reference) if reference else -1
    grain = _grain(found, "gap_change" if reference else "group_change", measure, cell, ref) if cell >= 0 else 0
    return "no change found" if grain else "too few to tell"


def show_actions(result: FindingsResult, release: Release, actions: pd.DataFrame):
    """Display "Actions on the findings" (:func:`qi_equity.reports.actions.actions_section_html`)
    against the findings as the release publishes them."""
    from qi_equity.reports.actions import show_actions as show

    show(actions, published_findings(result, release))
