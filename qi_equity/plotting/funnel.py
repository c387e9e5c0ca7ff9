"""Funnel plot drawing: 95% and 99.8% limits (dashed / solid), units as points, a
highlighted unit picked out by shape, size and a label (not colour alone)."""

from __future__ import annotations

import numpy as np

from qi_equity.plotting.spc import COLOURS, new_figure


def plot_funnel(result, ax=None, highlight=None, title: str | None = None, xlabel: str = "Denominator",
                ylabel: str | None = None, label_outliers: bool = True):
    """Draw a :class:`~qi_equity.equity.funnel.FunnelResult`; returns the figure."""
    if ax is None:
        fig, axes = new_figure(7, 4.2)
        ax = axes[0, 0]
    fig = ax.figure
    d = result.data
    lim = result.limits
    s = result.summary.iloc[0]
    pre = "od_" if s["effective_method"] == "overdispersed" else ""
    ax.axhline(s["target"], color=COLOURS["centre"], lw=1)
    ax.plot(lim["denominator"], lim[pre + "upper95"], color="#555555", ls="--", lw=0.9, label="95% limits")
    ax.plot(lim["denominator"], lim[pre + "lower95"], color="#555555", ls="--", lw=0.9)
    ax.plot(lim["denominator"], lim[pre + "upper998"], color="#222222", ls="-", lw=0.9, label="99.8% limits")
    ax.plot(lim["denominator"], lim[pre + "lower998"], color="#222222", ls="-", lw=0.9)
    hl = set(np.atleast_1d(highlight).tolist()) if highlight is not None else set(d.loc[d["highlight"], "group"])
    is_hl = d["group"].isin(hl).to_numpy()
    out = d["outlier998"].to_numpy()
    ax.scatter(d.loc[~is_hl & ~out, "denominator"], d.loc[~is_hl & ~out, "value"], s=22, color=COLOURS["common_cause"],
               label="Within 99.8% limits", zorder=3)
    ax.scatter(d.loc[~is_hl & out, "denominator"], d.loc[~is_hl & out, "value"], s=34, marker="X",
               color=COLOURS["special_cause_concern"], label="Outside 99.8% limits", zorder=3)
    if is_hl.any():
        ax.scatter(d.loc[is_hl, "denominator"], d.loc[is_hl, "value"], s=90, marker="D", facecolor="none",
                   edgecolor=COLOURS["special_cause_improvement"], linewidth=2, label="Highlighted", zorder=4)
    for _, r in d.iterrows():
        if (label_outliers and r["outlier998"]) or r["group"] in hl:
            ax.annotate(str(r["group"]), (r["denominator"], r["value"]), xytext=(4, 4), textcoords="offset points",
                        fontsize=8.5)
    ax.set_xscale("log" if d["denominator"].max() / max(d["denominator"].min(), 1) > 30 else "linear")
    ax.set_xlabel(xlabel, fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    t = title or "Funnel plot"
    ax.set_title(t, fontsize=10, loc="left")
    ax.legend(fontsize=8.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the panel
    outs = d.loc[d["outlier998"], "group"].astype(str).tolist()
    alt = (f"{t}: {len(d)} units against a target of {s['target']:.3g}; {s['effective_method']} limits "
           f"({s['reason']}). Outside the 99.8% limits: {', '.join(outs) if outs else 'none'}.")
    for g in hl:
        row = d[d["group"] == g]
        if len(row):
            r = row.iloc[0]
            where = "above" if r["value"] > r[pre + "upper998"] else "below" if r["value"] < r[pre + "lower998"] else "within"
            alt += f" {g} (highlighted): {r['value']:.3g} with denominator {r['denominator']:,.0f}, {where} the 99.8% limits."
    fig.qi_alt_text = alt
    return fig
