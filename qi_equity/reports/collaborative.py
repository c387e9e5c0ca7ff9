"""Building blocks of the collaborative report. They read only the providers' metrics
files (suppressed aggregates), never patient-level data, so each trust can run its own
provider report and share just its metrics file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.measures import MEASURES
from qi_equity.reports.provider import build_metrics, read_metrics, table

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "data_samples" / "collaborative.yaml"


def sample_metrics(cache_dir: str | Path | None = None) -> Path:
    """Metrics (and, in its ``findings/`` subfolder, findings) of the bundled sample
    collaborative, built once into a cache folder."""
    import tempfile

    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "qi-equity-sample-metrics-2"
    if not list(folder.glob("*.json")) or not list((folder / "findings").glob("*.json")):
        build_metrics(SAMPLE_CONFIG, folder, validate=False, findings_dir=folder / "findings")
    return folder
from qi_equity.variation import spc


def load(metrics_dir: str | Path) -> dict:
    """All metrics files of a folder as DataFrames.

    Returns
    -------
    dict
        ``providers`` (provider_code, provider_name, census_date), ``monthly`` (aggregate form
        plus provider_name), ``equity`` (equity tables), ``data_quality`` and ``icons``.
    """
    files = read_metrics(metrics_dir or sample_metrics())
    if not files:
        raise FileNotFoundError(f"no metrics files (*.json) in {metrics_dir}")
    prov = pd.DataFrame([{k: f[k] for k in ("provider_code", "provider_name", "census_date")} for f in files])

    def frame(key):
        parts = []
        for f in files:
            d = table(f[key])
            d.insert(0, "provider_name", f["provider_name"])
            if "provider_code" not in d:
                d.insert(0, "provider_code", f["provider_code"])
            parts.append(d)
        return pd.concat(parts, ignore_index=True)

    monthly = frame("monthly")
    monthly["month"] = pd.to_datetime(monthly["month"])
    return {"providers": prov, "monthly": monthly, "equity": frame("equity_table"),
            "data_quality": frame("data_quality"), "icons": frame("icons"), "files": files,
            "folder": Path(metrics_dir) if metrics_dir else sample_metrics()}


#: The lens worksheets the collaborative report compares (lens -> title).
WORKSHEET_LENSES = {"system": "Appreciation for a system", "psychology": "Psychology of change",
                    "knowledge": "Theory of knowledge", "variation": "Understanding variation",
                    "intentional_equity": "Intentional equity"}


def headline_table(m: dict) -> pd.DataFrame:
    """One row per provider: the last-12-month 'All patients' row of each equity table."""
    e = m["equity"]
    e = e[e["dimension"] == "all"]
    return pd.DataFrame({
        "Provider": e["provider_code"], "Name": e["provider_name"],
        "Completed (12 m)": e["completed"].round().astype("Int64"), "Median wait (wk)": e["median_wait"].round(1),
        "% over 18 wk": e["over_18_pct"].round(1), "% over 52 wk": e["over_52_pct"].round(1),
        "DNA %": e["dna_rate"].round(1), "Waiting now": e["waiting"].round().astype("Int64"),
    }).reset_index(drop=True)


def provider_spc(m: dict, measure: str = "completed_median_wait", dimension: str = "all", group: str = "All"):
    """SPC of one measure for every provider (small multiples)."""
    d = m["monthly"]
    d = d[(d["measure"] == measure) & (d["dimension"] == dimension) & (d["group"] == group)].copy()
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    return spc(d, value="value", date="month", by=["provider_code"], improvement=MEASURES[measure].improvement)


def icon_matrix(m: dict, measures=("completed_median_wait", "completed_over_18", "dna_rate")) -> pd.DataFrame:
    """Rows providers, columns measures, cells variation icons (from the full monthly series)."""
    cols = {}
    for name in measures:
        r = provider_spc(m, name)
        cols[MEASURES[name].label] = r.icons().set_index("provider_code")["variation"]
    out = pd.DataFrame(cols)
    out.index.name = "Provider"
    out = out.reset_index()
    out.attrs["icons"] = {c: "variation" for c in cols}  # shown as Making Data Count icons
    return out


def learning_from(matrix: pd.DataFrame) -> pd.DataFrame:
    """Providers whose latest point shows special-cause improvement on any measure."""
    long = matrix.melt(id_vars="Provider", var_name="Measure", value_name="Variation")
    out = long[long["Variation"].astype(str).str.startswith("improvement")].reset_index(drop=True)
    out.attrs["icons"] = {"Variation": "variation"}
    return out


def recording_quality(m: dict) -> pd.DataFrame:
    """Ethnicity and IMD recording by provider (percent of pathways)."""
    dq = m["data_quality"]
    dq = dq[dq["label"].isin(["Ethnicity not recorded (Z or 99)", "IMD decile unmatched"])]
    return dq.pivot(index="provider_code", columns="label", values="percent").round(1).reset_index().rename(
        columns={"provider_code": "Provider"})


def core20plus5_comparison(m: dict) -> pd.DataFrame:
    """The Core20PLUS5 areas across providers, from the counts each provider published: for each
    provider and area, the share of completed pathways over 18 weeks and the DNA rate for the
    Core20 and for everyone else (last 12 months). A rate is shown only where both its counts
    were published (NaN otherwise: hidden by the provider's suppression, or no pathways).

    Returns
    -------
    pandas.DataFrame
        ``Provider, Area, Services`` (treatment function codes), ``Completed (Core20)``,
        ``% over 18 wk (Core20)``, ``% over 18 wk (rest)``, ``DNA % (Core20)``, ``DNA % (rest)``.
    """
    from qi_equity.data.core20plus5 import areas, parse_area_key

    a = areas()
    names = dict(zip(a["area_id"], a["cohort_label"] + ": " + a["name"]))
    order = {x: i for i, x in enumerate(a["area_id"])}
    rows = []
    for f in m["files"]:
        c = table(f["cells"]) if "cells" in f else pd.DataFrame(columns=["specialty"])
        c = c[c["specialty"].astype(str).str.startswith("c20p5:") & (c["dimension"] == "core20")]
        for spec, g in c.groupby("specialty", sort=False):
            area_id, codes = parse_area_key(spec)
            v = {(r.measure, r.group): (np.nan if r.value is None else float(r.value)) for r in g.itertuples()}

            def pct(num, den, grp):
                x, n = v.get((num, grp), np.nan), v.get((den, grp), np.nan)
                return round(100 * x / n, 1) if n == n and x == x and n > 0 else np.nan

            rows.append({"Provider": f["provider_code"], "Area": names.get(area_id, area_id),
                         "Services": ", ".join(codes), "Completed (Core20)": v.get(("completed", "Core20"), np.nan),
                         "% over 18 wk (Core20)": pct("over_18", "completed", "Core20"),
                         "% over 18 wk (rest)": pct("over_18", "completed", "Not Core20"),
                         "DNA % (Core20)": pct("dna", "first_appts", "Core20"),
                         "DNA % (rest)": pct("dna", "first_appts", "Not Core20"), "_o": order.get(area_id, 99)})
    cols = ["Provider", "Area", "Services", "Completed (Core20)", "% over 18 wk (Core20)", "% over 18 wk (rest)",
            "DNA % (Core20)", "DNA % (rest)"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows).sort_values(["_o", "Provider"], kind="stable")[cols].reset_index(drop=True)
    out["Completed (Core20)"] = out["Completed (Core20)"].astype("Float64").round().astype("Int64")
    return out


def questionnaire_comparison(m: dict) -> pd.DataFrame:
    """Questionnaire reach and themes across providers, from what each provider published (its
    metrics file's ``questionnaire``): ``Provider, Questionnaire, Respondents, Under-represented``
    (the groups below their share of the catchment) and ``Themes raised most`` (published counts
    only, most first). Providers without responses are left out."""
    rows = []
    for f in m["files"]:
        qn = f.get("questionnaire")
        if not qn:
            continue
        reach = table(qn["reach"])
        under = reach.loc[reach.get("under_represented", pd.Series("", index=reach.index)).fillna("") != "", "group"]
        themes = table(qn["themes"]) if qn.get("themes") else pd.DataFrame(columns=["theme", "raised"])
        top = (themes.dropna(subset=["raised"]).groupby("theme")["raised"].sum().sort_values(ascending=False).head(3))
        rows.append({"Provider": f["provider_code"], "Questionnaire": qn["title"], "Respondents": qn["respondents"],
                     "Under-represented": ", ".join(under), "Themes raised most": "; ".join(top.index)})
    return pd.DataFrame(rows, columns=["Provider", "Questionnaire", "Respondents", "Under-represented",
                                       "Themes raised most"])


FUNNEL_MEASURES = {  # name: (label, count column, denominator column in the equity table)
    "dna_rate": ("Pathways with a DNA (%), last 12 months", "dna", "dna_denominator"),
    "completed_over_18": ("Completed pathways over 18 weeks (%), last 12 months", "over_18", "completed"),
}


def provider_funnel(m: dict, measure: str = "dna_rate", highlight=None):
    """Funnel of one measure across providers (12-month 'All patients' counts).

    Providers whose counts were suppressed cannot be placed: they are listed in
    ``result.options['excluded']``, never dropped silently.
    """
    from qi_equity.equity import funnel

    label, xcol, ncol = FUNNEL_MEASURES[measure]
    e = m["equity"]
    e = e[e["dimension"] == "all"][["provider_code", xcol, ncol]].rename(columns={xcol: "numerator", ncol: "denominator"})
    bad = e["numerator"].isna() | ~(e["denominator"] > 0)
    res = funnel(e[~bad], group="provider_code", kind="proportion", multiplier=100, highlight=highlight)
    res.options["excluded"] = e.loc[bad, "provider_code"].tolist()
    res.options["label"] = label
    return res


def plot_funnels_highlighting_each(m: dict, measure: str = "dna_rate", ncols: int = 3):
    """Small multiples: the same funnel once per provider, that provider highlighted."""
    import math

    from qi_equity.plotting import new_figure, plot_funnel
    from qi_equity.plotting.spc import fixed_margins

    base = provider_funnel(m, measure)
    codes = base.data["group"].tolist()
    nrows = math.ceil(len(codes) / ncols)
    fig, axes = new_figure(width=4.2 * min(ncols, len(codes)), height=3.3 * nrows + 0.3, nrows=nrows,
                           ncols=min(ncols, len(codes)), layout=None)
    alts = []
    for i, code in enumerate(codes):
        ax = axes.ravel()[i]
        plot_funnel(base, ax=ax, highlight=code, title=f"{code}", label_outliers=False)
        alts.append(ax.figure.qi_alt_text)
        if ax.get_legend() and i:
            ax.get_legend().remove()
    for j in range(len(codes), axes.size):
        axes.ravel()[j].set_visible(False)
    fig.suptitle(base.options["label"], fontsize=11, x=0.01, ha="left")
    fixed_margins(fig, left=0.6, top=0.7, bottom=0.5, wspace=0.55, hspace=0.85)
    excluded = base.options["excluded"]
    fig.qi_alt_text = base.options["label"] + ". " + " ".join(alts) + (
        f" Not placed (suppressed counts): {', '.join(excluded)}." if excluded else "")
    return fig, base


def provider_gaps(m: dict, measure: str = "dna_rate", dimension: str = "imd_quintile",
                  group: str = "Q1 most deprived", reference: str = "Q5 least deprived"):
    """The gap between a group and its reference, charted per provider (widening = concern)."""
    from qi_equity.variation import gap

    from qi_equity.variation.spc import SHORT_PERIOD

    d = m["monthly"]
    d = d[(d["measure"] == measure) & (d["dimension"] == dimension) & d["group"].isin([group, reference])].copy()
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    res = gap(d, reference=reference, groups=[group], by=["provider_code"],
              higher_is_worse=MEASURES[measure].improvement != "increase")
    # A provider whose published gap has fewer points than a chart needs is not charted (and so never
    # called common cause): its small monthly counts were suppressed before they reached this report.
    n = res.points[~res.points["missing"]].groupby("provider_code").size()
    keep = n[n >= SHORT_PERIOD].index
    too_few = sorted(set(res.points["provider_code"]) - set(keep))
    res.points = res.points[res.points["provider_code"].isin(keep)].reset_index(drop=True)
    res.summary = res.summary[res.summary["provider_code"].isin(keep)].reset_index(drop=True)
    res.options["too_few"] = too_few
    return res


def plot_provider_gaps(m: dict, measure: str, dimension: str, group: str, reference: str, title: str):
    """:func:`provider_gaps` drawn per provider, naming the providers with too few published points."""
    res = provider_gaps(m, measure, dimension, group, reference)
    too_few = res.options["too_few"]
    note = (f"Too few to tell for {', '.join(too_few)}: fewer than 13 months with published counts "
            "(small monthly counts are suppressed before they leave a provider)." if too_few else "")
    if len(res.points) == 0:
        from qi_equity.plotting import new_figure

        fig, axes = new_figure(height=1.0, layout=None)
        axes[0, 0].set_axis_off()
        axes[0, 0].text(0, 0.5, f"{title}\n{note}", fontsize=10, va="center")
        fig.qi_alt_text = f"{title}: {note}"
        return fig
    fig = res.plot(title=title, ncols=3)
    if note:
        fig.text(0.01, 0.005, note, fontsize=8, color="#555555", ha="left", va="bottom")
        fig.qi_alt_text += " " + note
    return fig


def collaborative_findings(m: dict, findings_dir: str | Path = ""):
    """Collaborative findings (:func:`qi_equity.findings.collaborative.scan_collaborative`) from the
    loaded metrics and the providers' published findings (``findings_dir``; by default the
    ``findings`` folder beside the metrics)."""
    from qi_equity.findings.collaborative import scan_collaborative
    from qi_equity.publication import read_findings

    folder = Path(findings_dir) if findings_dir else Path(m["folder"]) / "findings"
    pf = read_findings(folder) if folder.exists() and list(folder.glob("*.json")) else None
    return scan_collaborative(m["files"], pf)


def collaborative_findings_html(cf) -> str:
    """"What stands out across the collaborative": outliers and who to learn from."""
    import html

    from qi_equity.data import vocabulary as V

    d = cf.data
    if len(d):
        items = "".join(f"<li class='qi-finding qi-kind-collaborative_outlier'><span class='qi-kind'>"
                        f"{html.escape(V.kind(r.kind))}</span> {html.escape(str(r.sentence))} "
                        f"<a href='#funnel-{html.escape(r.measure)}'>See the funnel</a></li>" for r in d.itertuples())
        body = f"<ol class='qi-findings'>{items}</ol>"
    else:
        body = "<p class='qi-nothing'><strong>No provider stands out</strong> from the others on any measure.</p>"
    lf = cf.learn_from
    if len(lf):
        rows = "".join(f"<li><strong>{html.escape(str(r.provider_code))}</strong>: {html.escape(str(r.sentence))}"
                       + (f" <em>Could help: {html.escape(r.could_help)}.</em>" if r.could_help else "") + "</li>"
                       for r in lf.itertuples())
        body += f"<h3>Who to learn from</h3><ul class='qi-learn'>{rows}</ul>"
    else:
        body += "<p class='qi-note'>Who to learn from: no provider's gap has narrowed yet.</p>"
    return body


def show_collaborative_findings(cf):
    from IPython.display import display

    text = "\n".join(f"- {s}" for s in cf.data.get("sentence", [])) or "No provider stands out."
    display({"text/html": collaborative_findings_html(cf), "text/plain": text}, raw=True)


def plot_loo_funnels(cf, measure: str = "dna_rate", ncols: int = 3):
    """Small multiples: each provider against the others on the leave-one-out funnel."""
    import math

    from qi_equity.data import vocabulary as V
    from qi_equity.plotting import new_figure
    from qi_equity.plotting.findings import plot_loo_funnel
    from qi_equity.plotting.spc import fixed_margins

    res = cf.funnels[measure]
    codes = res.data["group"].tolist()
    nc = min(ncols, len(codes))
    nrows = math.ceil(len(codes) / nc)
    fig, axes = new_figure(width=4.0 * nc + 1.6, height=3.1 * nrows + 0.6, nrows=nrows, ncols=nc, layout=None)
    alts = []
    for i, code in enumerate(codes):
        ax = axes.ravel()[i]
        plot_loo_funnel(res, code, ax=ax, title=f"{code} against the others", ylabel="%" if i % nc == 0 else None)
        alts.append(fig.qi_alt_text)
    for j in range(len(codes), axes.size):
        axes.ravel()[j].set_visible(False)
    handles, labels = [], []
    for a in axes.ravel()[:len(codes)]:
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper right", fontsize=8, frameon=False, bbox_to_anchor=(1.0, 0.98))
    label = V.measure(measure, "label") + ", last 12 months"
    fig.suptitle(label, fontsize=11, x=0.01, ha="left")
    fixed_margins(fig, left=0.6, right=1.9, top=0.75, bottom=0.55, wspace=0.55, hspace=0.85)
    excluded = cf.excluded.get(measure) or []
    fig.qi_alt_text = (label + " (leave-one-out funnels: " + res.summary["reason"].iloc[0] + "). " + " ".join(alts)
                       + (f" Not placed (suppressed counts): {', '.join(excluded)}." if excluded else ""))
    return fig


def save_collaborative_findings(path: str | Path, cf, threshold: int, census_date):
    """Write ``collaborative_findings.json`` (outliers and who to learn from)."""
    import json

    from qi_equity.data.io import atomic_write
    from qi_equity.publication.findings import _clean

    d = cf.data
    payload = {"schema": "qi_equity.collaborative_findings/1", "census_date": str(pd.Timestamp(census_date).date()),
               "suppression_threshold": threshold,
               "findings": {"columns": list(d.columns), "data": [[_clean(v) for v in r] for r in d.itertuples(index=False)]},
               "learn_from": {"columns": list(cf.learn_from.columns),
                              "data": [[_clean(v) for v in r] for r in cf.learn_from.itertuples(index=False)]}}
    atomic_write(path, json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")


def funnel_measures(cf) -> list[str]:
    """The funnels a report draws: DNA and over 18 weeks, and every measure with a finding."""
    wanted = ["dna_rate", "completed_over_18"] + [m for m in cf.data.get("measure", []) if isinstance(m, str)]
    return [m for m in dict.fromkeys(wanted) if m in cf.funnels]
