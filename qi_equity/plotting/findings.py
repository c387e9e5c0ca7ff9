"""Charts of findings: the evidence behind each sentence of "What stands out".

A change (or a gap, when its series can be charted) is its Making Data Count XmR chart at the
finding's grain, with the change date marked; a gap that cannot be charted over time is the
two groups' values with the gap's interval; a collaborative outlier is its provider against
the others on the leave-one-out funnel. Every figure carries alt text (``fig.qi_alt_text``)
that says what the finding says.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from qi_equity.data import vocabulary as V
from qi_equity.plotting.spc import COLOURS, fixed_margins, new_figure, plot_spc


def _title(r) -> str:
    where = f" in {r['specialty_name'] or 'specialty ' + str(r['specialty'])}" if r["specialty"] != "all" else ""
    who = V.sentence_case(V.group(r["dimension"], r["group"])) + where
    m = V.measure(r["measure"], "label")
    if r["kind"] in ("gap_changing", "improvement", "gap_now"):
        return f"{m}: {who} minus {V.group(r['dimension'], r['reference_group'])}"
    return f"{m}: {who}"


def plot_finding(result, finding: str, ax=None, series=None, published: dict | None = None):
    """The chart of one finding of a :class:`~qi_equity.findings.FindingsResult`.

    ``series``: the series to draw (by default the full-data series; a report passes the
    published one, with unpublished periods as gaps). ``published``: the finding as published
    (its numbers withheld where its counts are small): the sentence and values shown come from it.
    """
    from qi_equity.variation import spc

    r = result.data.set_index("finding_id").loc[finding].copy()
    if published is not None:
        for k in ("sentence", "value_group", "value_reference", "mean_before", "mean_after", "size", "size_lower",
                  "size_upper"):
            if k in published:
                r[k] = published[k]
    title = _title(r)
    unit = "weeks" if V.measure(r["measure"], "unit") == "weeks" else "%" if r["kind"] == "group_changing" else "percentage points"
    grain = int(r["grain"]) if pd.notna(r["grain"]) else 0
    if grain == 0 and r["kind"] == "gap_now":
        grain = _gap_grain(result, r)
    if grain > 0 and r["kind"] in ("gap_now", "gap_changing", "improvement", "group_changing"):
        ref = int(r["ref_cell"]) if r["kind"] != "group_changing" else -1
        from qi_equity.findings.build import series_frame

        s = series if series is not None else series_frame(result.cells, r["measure"], grain, int(r["cell"]), ref)
        if s["value"].notna().sum() < 2:
            raise ValueError("too few periods can be published to draw this chart (small counts)")
        # limits from the periods before the change (a frozen baseline, as MDC advises after a
        # sustained shift), so the new level stands out against what was usual before it
        before = int((s["date"] < pd.Timestamp(r["period_start"])).sum()) if r["kind"] != "gap_now" else None
        res = spc(s[["date", "value"]], value="value", date="date", improvement="decrease",
                  freq="MS" if grain == 1 else None, fix_after=before if before and before >= 4 else None,
                  autocorrelation_threshold=1.01)
        fig = plot_spc(res, ax=ax, title=textwrap.fill(title, 95), ylabel=unit)
        a = fig.axes[0]
        if r["kind"] != "gap_now" and pd.notna(r["period_start"]):
            x = pd.Timestamp(r["period_start"])
            a.axvline(x, color="#005eb8", lw=1, ls=":", zorder=0)
            a.text(x, 0.02, f" changed {x:%b %Y}", transform=a.get_xaxis_transform(), fontsize=8, color="#005eb8",
                   va="bottom", ha="left")
        if ref >= 0:
            a.axhline(0, color="#999999", lw=0.6, zorder=0)
        fig.qi_alt_text = f"{r['sentence']} Chart ({V.grain(grain)}): {fig.qi_alt_text}"
        return fig
    return _plot_values(r, title, ax)


def _gap_grain(result, r) -> int:
    t = result.tests
    m = t[(t["family"] == "gap_change") & (t["measure"] == r["measure"]) & (t["cell"] == r["cell"])
          & (t["ref_cell"] == r["ref_cell"]) & t["tested"]]
    return int(m["grain"].iloc[0]) if len(m) else 0


def _plot_values(r, title: str, ax=None):
    """Two values side by side with the interval of their gap (a gap, a stage, engagement reach)."""
    own = ax is None
    if own:
        fig, axes = new_figure(7, 2.4, layout=None)
        ax = axes[0, 0]
    fig = ax.figure
    kind = r["kind"]
    if kind == "seldom_heard":
        labels = ["Share of people reached", "Share of the catchment population"]
    elif kind == "data_quality":
        labels = ["Share not recorded", "Recording standard (at most)"]
    else:
        labels = [V.sentence_case(V.group(r["dimension"], r["group"])), V.sentence_case(V.group(r["dimension"], r["reference_group"]))]
    vals = [float(r["value_group"]), float(r["value_reference"])]
    if any(pd.isna(v) for v in vals):
        raise ValueError("numbers withheld: small counts")
    colours = [COLOURS["special_cause_concern"], COLOURS["common_cause"]]
    ax.barh([1, 0], vals, color=colours, height=0.55)
    ax.set_yticks([1, 0], labels, fontsize=9)
    unit = "%" if kind in ("seldom_heard", "data_quality") or V.measure(r["measure"], "unit") != "weeks" else " weeks"
    for y, v in zip([1, 0], vals):
        ax.text(v, y, f" {v:,.1f}{unit}", va="center", fontsize=9)
    ax.set_xlim(0, max(vals) * 1.25 if max(vals) > 0 else 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.set_title(title if kind not in ("seldom_heard", "data_quality") else V.measure(r["measure"], "label"),
                 fontsize=10, loc="left")
    if own:
        from qi_equity.plotting.spc import label_width

        fixed_margins(fig, left=min(label_width(labels, 9) + 0.3, 3.5), top=0.45, bottom=0.4, right=0.9)
    fig.qi_alt_text = str(r["sentence"])
    return fig


def plot_loo_funnel(result, unit, ax=None, title: str | None = None, ylabel: str | None = None):
    """One provider against the others on a leave-one-out funnel
    (:func:`qi_equity.equity.funnel.loo_funnel`): the limits are the others' (95% dashed, 99.8%
    solid), the provider is picked out by shape and label; outside 99.8% is a cross, outside 95%
    only a triangle, within the limits an open circle (so the levels never rest on colour alone),
    orange when worse than the others and blue when better."""
    own = ax is None
    if own:
        fig, axes = new_figure(4.6, 3.4, layout=None)
        ax = axes[0, 0]
    fig = ax.figure
    d = result.data
    lim = result.limits[result.limits["unit"] == unit]
    me = d[d["group"] == unit].iloc[0]
    ax.axhline(me["target"], color=COLOURS["centre"], lw=1)
    ax.plot(lim["denominator"], lim["upper95"], color="#555555", ls="--", lw=0.9, label="95% limits")
    ax.plot(lim["denominator"], lim["lower95"], color="#555555", ls="--", lw=0.9)
    ax.plot(lim["denominator"], lim["upper998"], color="#222222", ls="-", lw=0.9, label="99.8% limits")
    ax.plot(lim["denominator"], lim["lower998"], color="#222222", ls="-", lw=0.9)
    others = d[d["group"] != unit]
    ax.scatter(others["denominator"], others["value"], s=22, color=COLOURS["common_cause"], label="Other providers",
               zorder=3)
    worse = me["z"] > 0  # every measure compared here: higher is worse
    if me["outlier998"]:
        style = dict(marker="X", color=COLOURS["special_cause_concern" if worse else "special_cause_improvement"], s=90,
                     label=f"This provider: outside 99.8% ({'worse' if worse else 'better'})")
    elif me["outlier95"]:
        style = dict(marker="^", color="#f5d78e" if worse else "#b3dbf3", edgecolor="#8a4b00" if worse else "#00437a",
                     s=80, label=f"This provider: outside 95% ({'worse' if worse else 'better'})")
    else:
        style = dict(marker="o", color="#ffffff", edgecolor="#212b32", linewidth=1.5, s=70,
                     label="This provider: within limits")
    ax.scatter([me["denominator"]], [me["value"]], zorder=4, **style)
    ax.annotate(str(unit), (me["denominator"], me["value"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
    ax.set_xlabel("Denominator (pathways)", fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or str(unit), fontsize=10, loc="left")
    if own:
        ax.legend(fontsize=8.5, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fixed_margins(fig, right=1.9, top=0.4, bottom=0.55)
    where = ("above" if me["value"] > me["upper998"] else "below") + " the 99.8% limits" if me["outlier998"] else (
        ("above" if me["value"] > me["upper95"] else "below") + " the 95% limits" if me["outlier95"] else "within the limits")
    fig.qi_alt_text = (f"{title or unit}: {unit} at {me['value']:.1f} against the other providers' {me['target']:.1f} "
                       f"(z = {me['z']:.1f}), {where}.")
    return fig
