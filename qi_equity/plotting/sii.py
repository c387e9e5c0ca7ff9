"""The slope index of inequality drawn: each quantile's value at its relative rank, with its
interval, and the fitted line from most to least deprived."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity.equity.sii import relative_rank
from qi_equity.plotting.spc import COLOURS, fixed_margins, new_figure


def plot_sii(data: pd.DataFrame, result: pd.DataFrame, value: str = "value", population: str = "population",
             lower: str | None = "lower", upper: str | None = "upper", quantile: str = "quantile",
             title: str = "Slope index of inequality", ylabel: str | None = None, ax=None):
    """Draw one SII (``result`` a one-row output of :func:`qi_equity.equity.sii`)."""
    own = ax is None
    if own:
        fig, axes = new_figure(7, 3.8, layout=None)
        ax = axes[0, 0]
    fig = ax.figure
    d = data.sort_values(quantile)
    rank = relative_rank(d[population])
    width = d[population].to_numpy(float) / d[population].sum()
    ax.bar(rank, d[value], width=width * 0.95, color="#d9e6f2", edgecolor="#7b98b5", label="Quantile value")
    if lower and upper and lower in d and upper in d:
        ax.errorbar(rank, d[value], yerr=[d[value] - d[lower], d[upper] - d[value]], fmt="none", ecolor="#333333",
                    lw=0.8, capsize=2, label="95% interval")
    r = result.iloc[0]
    # line through the fitted values at rank 0 and rank 1 (y1 = y0 + SII)
    y0 = r["sii"] / (r["rii"] - 1) if r["rii"] != 1 else np.nan
    ax.plot([0, 1], [y0, y0 + r["sii"]], color=COLOURS["special_cause_concern"], lw=2, label="Fitted gradient")
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1], ["most deprived", "", "least deprived"], fontsize=8)
    ax.set_xlabel("Relative rank (cumulative population share)", fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ci = ""
    if "sii_lower95_0" in r:
        ci = f" (95% CI {r['sii_lower95_0']:.3g} to {r['sii_upper95_0']:.3g})"
    ax.set_title(f"{title}\nSII {r['sii']:.3g}{ci}; RII {r['rii']:.3g}", fontsize=10, loc="left")
    ax.legend(fontsize=8.5, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if own:  # two-line title, tick numbers and axis labels of known size
        fixed_margins(fig, left=0.75 if ylabel else 0.5, right=0.55, top=0.6, bottom=0.6)
    vals = ", ".join(f"{q}: {v:.3g}" for q, v in zip(d[quantile], d[value]))
    fig.qi_alt_text = (f"{title}: values by deprivation quantile from most to least deprived ({vals}). Slope index "
                       f"of inequality {r['sii']:.3g}{ci}, relative index {r['rii']:.3g}.")
    return fig
