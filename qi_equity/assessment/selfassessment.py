"""Self-assessment against the canvas themes and the intentional-equity questions.

Contract (CSV, one row per provider x item): ``provider_code, framework`` (canvas /
intentional_equity), ``code`` (a theme or question code of ``themes.yaml``), ``now`` and
``target`` (0-4: 0 not started, 1 aware, 2 planning, 3 doing, 4 embedded; target >= now),
``action`` ("how do we get there": required when target > now), and optionally ``assessed_on``
(YYYY-MM-DD) for repeat assessments, one round per date: reports then use each provider's latest
round and show the movement since its first (:func:`movement`); :func:`peer_matches` pairs a trust
already doing a theme with one that wants to move on it.

References
----------
.. [1] Institute for Healthcare Improvement (2021). Improving health equity: guidance for
       intentional equity in QI (framing, project design, project operations questions).
.. [2] The "where are we now, where do we want to be, how do we get there" canvas format used by
       NHS inclusive digital transformation self-assessments (themes here written for this kit).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid, row_rules

COLUMNS = ["provider_code", "framework", "code", "now", "target", "action"]
SCALE = {0: "not started", 1: "aware", 2: "planning", 3: "doing", 4: "embedded"}


def frameworks(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    p = Path(path) if path else Path(__file__).with_name("themes.yaml")
    d = yaml.safe_load(p.read_text())
    return {k: pd.DataFrame(v) for k, v in d.items()}


def validate_assessment(df: pd.DataFrame, fw: dict | None = None, source: str = "self-assessment") -> ValidationReport:
    n = len(df)
    f = [Failure(c, "required column is missing", -1, n) for c in COLUMNS if c not in df.columns]
    if f:
        return ValidationReport(source, n, f)
    fw = fw or frameworks()
    add = row_rules(df, f)

    add("framework", "must be one of " + " / ".join(fw), ~df["framework"].isin(list(fw)))
    valid = [fr in fw and c in set(fw[fr]["code"]) for fr, c in zip(df["framework"], df["code"])]
    add("code", "must be a code of its framework", ~pd.Series(valid, index=df.index, dtype=bool))
    for c in ("now", "target"):
        v = pd.to_numeric(df[c], errors="coerce")
        add(c, "must be a whole number 0-4", v.isna() | ~v.isin([0, 1, 2, 3, 4]))
    now, tgt = pd.to_numeric(df["now"], errors="coerce"), pd.to_numeric(df["target"], errors="coerce")
    add("target", "must not be below now", (tgt < now).fillna(False))
    no_action = (tgt > now).fillna(False) & (df["action"].isna() | (df["action"].astype(str).str.strip() == ""))
    add("action", "must say how we get there when target is above now", no_action)
    rounds = ["provider_code", "framework", "code"] + (["assessed_on"] if "assessed_on" in df.columns else [])
    if "assessed_on" in df.columns:  # optional: repeat assessments, one round per date
        on = pd.to_datetime(df["assessed_on"], format="%Y-%m-%d", errors="coerce")
        add("assessed_on", "must be a date YYYY-MM-DD", on.isna())
    add("code", "must be scored once per provider" + (" and date" if "assessed_on" in df.columns else ""),
        df.duplicated(rounds, keep=False))
    return ValidationReport(source, n, f)


def load_assessment(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"provider_code": str, "framework": str, "code": str, "action": str,
                                  "assessed_on": str})
    raise_if_invalid(validate_assessment(df, source=str(path)))
    return df


def heatmap_table(df: pd.DataFrame, framework: str = "canvas", value: str = "now") -> pd.DataFrame:
    """Rows providers, columns themes (labels), cells ``now``, ``target`` or ``gap`` (target - now)."""
    fw = frameworks()[framework]
    label = fw.set_index("code")[fw.columns[-1]]
    d = latest_assessment(df)
    d = d[d["framework"] == framework].assign(gap=lambda x: x["target"] - x["now"])
    t = d.pivot(index="provider_code", columns="code", values=value).reindex(columns=list(fw["code"]))
    t.columns = [f"{c} {label[c]}" for c in t.columns]
    return t.reset_index()


def plot_heatmap(table: pd.DataFrame, title: str = "Self-assessment across the collaborative (now)"):
    """Heatmap with the score written in every cell (meaning not carried by colour alone)."""
    from qi_equity.plotting.spc import new_figure

    vals = table.iloc[:, 1:].to_numpy(float)
    fig, axes = new_figure(width=1.0 * vals.shape[1] + 3, height=0.45 * vals.shape[0] + 2.6)
    ax = axes[0, 0]
    ax.imshow(vals, cmap="Blues", vmin=0, vmax=4, aspect="auto")
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals[i, j]
            ax.text(j, i, "" if pd.isna(v) else f"{int(v)}", ha="center", va="center", fontsize=8,
                    color="white" if v >= 3 else "black")
    ax.set_xticks(range(vals.shape[1]), [c.split(" ", 1)[1] for c in table.columns[1:]], rotation=40, ha="right",
                  fontsize=8)
    ax.set_yticks(range(vals.shape[0]), table.iloc[:, 0].astype(str), fontsize=8)
    ax.set_title(title + " - 0 not started ... 4 embedded", fontsize=10, loc="left")
    fig.qi_alt_text = title + ": " + "; ".join(
        f"{table.iloc[i, 0]}: " + ", ".join(f"{table.columns[j + 1]} {'n/a' if pd.isna(vals[i, j]) else int(vals[i, j])}"
                                            for j in range(vals.shape[1])) for i in range(vals.shape[0])) + "."
    return fig


def plot_provider(df: pd.DataFrame, provider_code: str, framework: str = "canvas"):
    """Now against target for one provider, theme by theme (its latest round)."""
    from qi_equity.plotting.spc import fixed_margins, label_width, new_figure

    fw = frameworks()[framework]
    label = fw.set_index("code")[fw.columns[-1]]
    d = latest_assessment(df)
    d = d[(d["provider_code"] == provider_code) & (d["framework"] == framework)].set_index("code")
    d = d.reindex([c for c in fw["code"] if c in d.index])
    fig, axes = new_figure(8, 0.4 * len(d) + 1.5, layout=None)
    ax = axes[0, 0]
    y = range(len(d))
    ax.hlines(list(y), d["now"], d["target"], color="#768692", lw=2)
    ax.scatter(d["now"], list(y), color="#005eb8", marker="o", s=40, label="Now", zorder=3)
    ax.scatter(d["target"], list(y), color="#fab428", marker="D", s=40, label="Target", zorder=3)
    ax.set_yticks(list(y), [f"{c} {label[c]}" for c in d.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xticks(range(5), [f"{k} {v}" for k, v in SCALE.items()], fontsize=8)
    ax.set_xlim(-0.3, 4.3)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(f"{provider_code}: where we are now and where we want to be", fontsize=10, loc="left")
    labels = [f"{c} {label[c]}" for c in d.index]
    fixed_margins(fig, left=min(label_width(labels, 7) + 0.2, 5.0), right=0.4, top=0.35, bottom=0.45)
    fig.qi_alt_text = f"{provider_code} self-assessment: " + "; ".join(
        f"{label[c]} now {int(r['now'])}, target {int(r['target'])}" for c, r in d.iterrows()) + "."
    return fig


def latest_assessment(df: pd.DataFrame) -> pd.DataFrame:
    """Each provider's latest round (with an ``assessed_on`` column: repeat assessments; without
    one, the file is a single round)."""
    if "assessed_on" not in df.columns:
        return df
    when = pd.to_datetime(df["assessed_on"])
    last = when.groupby(df["provider_code"]).transform("max")
    return df[when == last]


def movement(df: pd.DataFrame, framework: str = "canvas") -> pd.DataFrame:
    """Movement between a provider's first and latest rounds (repeat assessments, ``assessed_on``).

    Returns ``provider_code, code, label, first_on, first_now, latest_on, latest_now, moved``
    (latest minus first; empty when no provider has two rounds)."""
    cols = ["provider_code", "code", "label", "first_on", "first_now", "latest_on", "latest_now", "moved"]
    if "assessed_on" not in df.columns:
        return pd.DataFrame(columns=cols)
    fw = frameworks()[framework]
    label = fw.set_index("code")[fw.columns[-1]]
    d = df[df["framework"] == framework].assign(on=pd.to_datetime(df["assessed_on"]))
    d = d.sort_values("on")
    g = d.groupby(["provider_code", "code"])
    out = pd.DataFrame({"first_on": g["on"].first(), "first_now": g["now"].first(), "latest_on": g["on"].last(),
                        "latest_now": g["now"].last()}).reset_index()
    out = out[out["latest_on"] > out["first_on"]]
    out["label"] = out["code"].map(label)
    out["moved"] = out["latest_now"] - out["first_now"]
    order = {c: i for i, c in enumerate(fw["code"])}
    out = out.sort_values(["provider_code", "code"], key=lambda s: s.map(order) if s.name == "code" else s)
    return out[cols].reset_index(drop=True)


def peer_matches(df: pd.DataFrame, framework: str = "canvas", strong: int = 3, weak: int = 1) -> pd.DataFrame:
    """Who can help whom: for each theme, the providers already doing it (``now`` >= ``strong``,
    3 "doing" by default) matched with those that want to move on it from a low start (``now`` <=
    ``weak`` and ``target`` above ``now``), from each provider's latest round. Collaborative
    learning pairs a trust strong on a theme with one that wants to move on it.

    Returns ``code, label, helper, helper_now, learner, learner_now, learner_target, learner_action``,
    one row per pair, themes in the framework's order.
    """
    fw = frameworks()[framework]
    label = fw.set_index("code")[fw.columns[-1]]
    d = latest_assessment(df)
    d = d[d["framework"] == framework]
    helpers = d[d["now"] >= strong][["code", "provider_code", "now"]].rename(
        columns={"provider_code": "helper", "now": "helper_now"})
    learners = d[(d["now"] <= weak) & (d["target"] > d["now"])][["code", "provider_code", "now", "target", "action"]]
    learners = learners.rename(columns={"provider_code": "learner", "now": "learner_now", "target": "learner_target",
                                        "action": "learner_action"})
    pairs = helpers.merge(learners, on="code")
    pairs = pairs[pairs["helper"] != pairs["learner"]]
    pairs["label"] = pairs["code"].map(label)
    order = {c: i for i, c in enumerate(fw["code"])}
    pairs = pairs.sort_values(["code", "learner", "helper"], key=lambda s: s.map(order) if s.name == "code" else s)
    return pairs[["code", "label", "helper", "helper_now", "learner", "learner_now", "learner_target",
                  "learner_action"]].reset_index(drop=True)
