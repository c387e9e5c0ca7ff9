"""The variation matrix as a figure: icons as words in coloured cells (never colour alone)."""

from __future__ import annotations

import pandas as pd

from qi_equity.plotting.spc import COLOURS, VARIATION_TEXT, new_figure

CELL_COLOUR = {
    "too_few": "#ffffff",
    "common_cause": "#e8e8e8",
    "improvement_high": COLOURS["special_cause_improvement"], "improvement_low": COLOURS["special_cause_improvement"],
    "concern_high": COLOURS["special_cause_concern"], "concern_low": COLOURS["special_cause_concern"],
    "neutral_high": "#b9a6d9", "neutral_low": "#b9a6d9",
}
ARROW = {"improvement_high": " \u25b2", "improvement_low": " \u25bc", "concern_high": " \u25b2",
         "concern_low": " \u25bc", "neutral_high": " \u25b2", "neutral_low": " \u25bc", "common_cause": "",
         "too_few": ""}


def plot_variation_matrix(matrix: pd.DataFrame, title: str = "Variation icons", ax=None):
    """Draw :func:`qi_equity.variation.variation_matrix` output; returns the figure
    (``fig.qi_alt_text`` lists every cell)."""
    rows = matrix.iloc[:, 0].astype(str).tolist()
    cols = list(matrix.columns[1:])
    if ax is None:
        fig, axes = new_figure(width=1.9 * len(cols) + 2.2, height=0.42 * len(rows) + 1.0, top_ticks=True)
        ax = axes[0, 0]
    fig = ax.figure
    alt = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            icon = matrix.iloc[i, j + 1]
            icon = None if pd.isna(icon) else str(icon)
            ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
                (j, i), 0.96, 0.9, color=CELL_COLOUR.get(icon, "white"), ec="#999999", lw=0.5))
            label = VARIATION_TEXT.get(icon, "no data") if icon else "no data"
            ax.text(j + 0.48, i + 0.45, label + ARROW.get(icon, ""), ha="center", va="center", fontsize=8.5,
                    color="white" if icon and icon.startswith("improvement") else "black")
            alt.append(f"{r} / {c}: {label}")
    ax.set_xlim(0, len(cols))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.48 for j in range(len(cols))], [str(c) for c in cols], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.45 for i in range(len(rows))], rows, fontsize=8)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=10, loc="left", pad=18)
    fig.qi_alt_text = f"{title}: " + "; ".join(alt) + "."
    return fig
