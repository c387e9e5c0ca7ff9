"""Readiness-for-change survey: Likert items by staff role and provider.

Contract (CSV, one row per answer): ``provider_code, respondent_id, role, item`` (a code of
``readiness_items.yaml``), ``response`` (1-5: strongly disagree ... strongly agree).

Outputs: item scores (mean with a t interval; % agreeing -- 4 or 5 -- with a Wilson interval)
and the response distribution for diverging stacked bars, centred on the neutral answer.

References
----------
.. [1] Weiner BJ (2009). A theory of organizational readiness for change. Implementation
       Science 4: 67 (change commitment and change efficacy).
.. [2] Heiberger RM, Robbins NB (2014). Design of diverging stacked bar charts for Likert
       scales and other applications. Journal of Statistical Software 57(5).
.. [3] Wilson EB (1927) for the interval of the share agreeing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import t as student_t

from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid, row_rules
from qi_equity.equity.intervals import wilson

COLUMNS = ["provider_code", "respondent_id", "role", "item", "response"]
LABELS = {1: "Strongly disagree", 2: "Disagree", 3: "Neither", 4: "Agree", 5: "Strongly agree"}


def items(path: str | Path | None = None) -> pd.DataFrame:
    p = Path(path) if path else Path(__file__).with_name("readiness_items.yaml")
    return pd.DataFrame(yaml.safe_load(p.read_text()))


def validate_readiness(df: pd.DataFrame, item_table: pd.DataFrame | None = None, source: str = "readiness survey"
                       ) -> ValidationReport:
    n = len(df)
    f = [Failure(c, "required column is missing", -1, n) for c in COLUMNS if c not in df.columns]
    if f:
        return ValidationReport(source, n, f)
    codes = set((item_table if item_table is not None else items())["code"])
    add = row_rules(df, f)

    r = pd.to_numeric(df["response"], errors="coerce")
    add("response", "must be a whole number 1-5", r.isna() | ~r.isin([1, 2, 3, 4, 5]))
    add("item", "must be an item code of the survey", ~df["item"].isin(codes))
    add("role", "must not be empty", df["role"].isna() | (df["role"].astype(str).str.strip() == ""))
    add("respondent_id", "must answer each item once", df.duplicated(["provider_code", "respondent_id", "item"], keep=False))
    return ValidationReport(source, n, f)


def load_readiness(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"provider_code": str, "respondent_id": str, "role": str, "item": str})
    raise_if_invalid(validate_readiness(df, source=str(path)))
    return df


def item_scores(df: pd.DataFrame, by=("provider_code", "item"), confidence: float = 0.95) -> pd.DataFrame:
    """Per group: ``n, mean, mean_lower, mean_upper`` (t interval), ``agree`` (4 or 5),
    ``agree_pct, agree_lower, agree_upper`` (Wilson)."""
    by = list(by)
    g = df.groupby(by)["response"]
    out = g.agg(n="size", mean="mean", sd="std").reset_index()
    out["agree"] = g.apply(lambda s: int((s >= 4).sum())).to_numpy()
    tq = student_t.ppf(1 - (1 - confidence) / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["mean_lower"], out["mean_upper"] = out["mean"] - half, out["mean"] + half
    lo, hi = wilson(out["agree"], out["n"], confidence)
    out["agree_pct"], out["agree_lower"], out["agree_upper"] = 100 * out["agree"] / out["n"], 100 * lo, 100 * hi
    return out.drop(columns="sd")


def distribution(df: pd.DataFrame, by=("item",)) -> pd.DataFrame:
    """Percent of answers at each level per group (columns 1-5), for diverging stacked bars."""
    t = pd.crosstab([df[b] for b in by], df["response"], normalize="index") * 100
    return t.reindex(columns=[1, 2, 3, 4, 5], fill_value=0.0).reset_index()


def plot_diverging(dist: pd.DataFrame, label: str = "item", title: str = "Readiness for change"):
    """Diverging stacked bars centred on the neutral answer; returns the figure (alt text set)."""
    from qi_equity.plotting.spc import fixed_margins, label_width, new_figure

    colours = {1: "#8a4b00", 2: "#fab428", 3: "#cccccc", 4: "#7fb8e6", 5: "#005eb8"}
    fig, axes = new_figure(8, 0.45 * len(dist) + 1.4, layout=None)
    ax = axes[0, 0]
    y = np.arange(len(dist))
    left = -(dist[1] + dist[2] + dist[3] / 2)
    for level in (1, 2, 3, 4, 5):
        ax.barh(y, dist[level], left=left, color=colours[level], edgecolor="white", label=LABELS[level],
                hatch="//" if level < 3 else None)
        left = left + dist[level]
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(y, dist[label].astype(str), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("% of answers (disagree left, agree right)", fontsize=8)
    ax.legend(fontsize=8.5, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    # margins from the labels' size (cheaper than constrained layout): item labels left; axis
    # label and the legend below the axes
    fixed_margins(fig, left=label_width(dist[label].astype(str), 8) + 0.25, right=0.2, top=0.35, bottom=0.95)
    fig.qi_alt_text = f"{title}: " + "; ".join(
        f"{r[label]}: {r[4] + r[5]:.0f}% agree, {r[1] + r[2]:.0f}% disagree" for _, r in dist.iterrows()) + "."
    return fig
