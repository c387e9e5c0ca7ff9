"""The interactive explorer of ``notebooks/00_start_here.ipynb`` (ipywidgets).

It reads only metrics files (suppressed aggregates), so it runs within Binder's memory on
the bundled sample. A static view of the default selection is always displayed as well:
widget state does not survive papermill, nbconvert or a static HTML export, so the notebook
degrades to that static output rather than to nothing.
"""

from __future__ import annotations

import html

from qi_equity.data import contract as C
from qi_equity.equity import compare_groups
from qi_equity.measures import MEASURES
from qi_equity.reports import collaborative as CR
from qi_equity.reports.display import figure_html, table_html
from qi_equity.reports.provider import REFERENCES
from qi_equity.variation import spc

EXPLORER_MEASURES = ("completed_median_wait", "completed_over_18", "dna_rate")
EXPLORER_DIMENSIONS = tuple(REFERENCES)
COUNTS = {"completed_over_18": ("over_18", "completed"), "dna_rate": ("dna", "dna_denominator")}


def view(m: dict, provider: str, measure: str, dimension: str) -> list[str]:
    """HTML fragments for one selection: SPC by group, the group table, and the funnel."""
    out = []
    label = MEASURES[measure].label
    d = m["monthly"]
    d = d[(d["provider_code"] == provider) & (d["measure"] == measure) & (d["dimension"] == dimension)].copy()
    d.loc[~(d["denominator"] > 0), "value"] = float("nan")
    counts = d.groupby("group")["value"].count()
    keep = [g for g in C.DIMENSIONS[dimension].groups if counts.get(g, 0) >= 13][:6]
    left_out = [g for g in C.DIMENSIONS[dimension].groups if g not in keep and counts.get(g, 0) > 0]
    if keep:
        res = spc(d[d["group"].isin(keep)], value="value", date="month", by=["group"],
                  improvement=MEASURES[measure].improvement)
        out.append(figure_html(res.plot(title=f"{provider}: {label} by {C.DIMENSIONS[dimension].label}", ncols=3)))
    else:
        out.append("<p>No group has 13 published months for this selection.</p>")
    if left_out:  # say which groups the charts leave out, and why
        out.append("<p class='qi-note'>" + html.escape(
            "Not charted: " + ", ".join(f"{g} ({int(counts.get(g, 0))} of {d['month'].nunique()} months published)"
                                        for g in left_out)
            + ". A chart needs at least 13 published months; months with small counts are suppressed.") + "</p>")
    e = m["equity"]
    e = e[(e["provider_code"] == provider) & (e["dimension"] == dimension)]
    if measure in COUNTS:
        x, n = COUNTS[measure]
        t = e[["group", x, n]].dropna()
        t = t[t[n] > 0]
        if REFERENCES[dimension] in set(t["group"]):
            c = compare_groups(t, x, n, reference=REFERENCES[dimension])
            words = {"group": "Group", "x": "Count", "n": "Out of", "value": "%", "lower": "Lower 95% limit",
                     "upper": "Upper 95% limit", "difference": "Gap (pp)", "difference_lower": "Gap, lower 95% limit",
                     "difference_upper": "Gap, upper 95% limit", "ratio": "Ratio", "flag": "Against the reference"}
            shown = c[list(words)].round(2).rename(columns=words)
            shown["Count"], shown["Out of"] = shown["Count"].round().astype("Int64"), shown["Out of"].round().astype("Int64")
            out.append(table_html(shown,
                                  caption=f"{label}: last 12 months, against {REFERENCES[dimension]} "
                                          "(suppressed groups are left out)"))
        f = CR.provider_funnel(m, measure, highlight=provider)
        out.append(figure_html(f.plot(highlight=provider, title=f"{label}: {provider} among the providers")))
    else:
        t = e[["group", "completed", "median_wait"]].rename(columns={"median_wait": "Median wait (weeks)"})
        out.append(table_html(t, caption=f"{label}: last 12 months (medians have no funnel plot)"))
    return out


def explorer(metrics_dir: str = "", interactive: bool = True, provider: str | None = None,
             measure: str = "dna_rate", dimension: str = "imd_quintile"):
    """Display the explorer: widgets (when ``interactive``) and a static default view."""
    import ipywidgets as W
    from IPython.display import HTML, display

    m = CR.load(metrics_dir)
    providers = m["providers"]["provider_code"].tolist()
    provider = provider or providers[0]
    if not interactive:
        display(HTML("".join(view(m, provider, measure, dimension))))
        return None
    wide = {"description_width": "initial"}
    p = W.Dropdown(options=providers, value=provider, description="Provider", style=wide,
                   layout=W.Layout(width="auto"))
    me = W.Dropdown(options=[(MEASURES[k].label, k) for k in EXPLORER_MEASURES], value=measure, description="Measure",
                    style=wide, layout=W.Layout(width="auto", min_width="24em"))
    di = W.Dropdown(options=[(C.DIMENSIONS[k].label, k) for k in EXPLORER_DIMENSIONS], value=dimension,
                    description="Dimension", style=wide, layout=W.Layout(width="auto"))
    display(W.VBox([W.HTML("<b>Choose a selection</b> (live in JupyterLab or on Binder; the view below redraws "
                           "in place):"), W.HBox([p, me, di], layout=W.Layout(flex_flow="row wrap"))]))
    # The view is an ordinary output (so a static export keeps it), redrawn in place through
    # its display handle, never stacked under the first one.
    handle = display(HTML("".join(view(m, provider, measure, dimension))), display_id=True)

    def update(*_):
        handle.update(HTML("".join(view(m, p.value, me.value, di.value))))

    for w in (p, me, di):
        w.observe(update, names="value")
    return handle
