"""Driver diagrams: aim -> primary drivers -> secondary drivers -> change ideas (YAML).

Contract (one YAML file per provider)::

    provider_code: XQD
    aim: {statement: text, measure: <qi_equity measure>, target: number, by: YYYY-MM-DD,
          dimension: <optional>, group: <optional>, reference_group: <optional>}
    primary_drivers:
      - id: P1
        statement: text
        secondary_drivers:
          - id: S1
            statement: text
            change_ideas:
              - {id: C1, statement: text, measure: <qi_equity measure>}

An aim may be a group's level (``dimension`` and ``group``) or a gap between two groups (with
``reference_group`` too: "halve the DNA gap between IMD Q1 and Q5"), the target then being the
group's value or the gap; the report charts that series, with its SPC, as the aim's measure.

Every error names its path in the file (e.g. ``primary_drivers[0].secondary_drivers[1].id``)
and the rule.

References
----------
.. [1] Institute for Healthcare Improvement. Driver Diagram (QI Essentials Toolkit); Bennett B,
       Provost L (2015). What's your theory? Quality Progress 48(7): 36-43.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid
from qi_equity.measures import MEASURES


def validate_driver_diagram(d: dict, source: str = "driver diagram") -> ValidationReport:
    f: list[Failure] = []

    def err(path, rule, value=None):
        f.append(Failure(path, rule, 1, 1, [] if value is None else [value]))

    def text(obj, path):
        if not isinstance(obj, str) or not obj.strip():
            err(path, "must be non-empty text", obj)

    if not isinstance(d, dict):
        return ValidationReport(source, 0, [Failure("(file)", "must be a YAML mapping", -1, 0)])
    for k in ("provider_code", "aim", "primary_drivers"):
        if k not in d:
            err(k, "is required")
    aim = d.get("aim") or {}
    if "aim" in d:
        text(aim.get("statement"), "aim.statement")
        if aim.get("measure") not in MEASURES:
            err("aim.measure", "must be one of " + ", ".join(MEASURES), aim.get("measure"))
        if "by" in aim and pd.isna(pd.to_datetime(str(aim["by"]), format="%Y-%m-%d", errors="coerce")):
            err("aim.by", "must be a date YYYY-MM-DD", aim.get("by"))
        if "target" in aim and not isinstance(aim["target"], (int, float)):
            err("aim.target", "must be a number", aim.get("target"))
        if aim.get("group") is not None and not aim.get("dimension"):
            err("aim.group", "needs aim.dimension", aim.get("group"))
        if aim.get("reference_group") is not None and aim.get("group") is None:
            err("aim.reference_group", "needs aim.group", aim.get("reference_group"))
    ids = {}
    for i, p in enumerate(d.get("primary_drivers") or []):
        pp = f"primary_drivers[{i}]"
        for key, obj, path in [("id", p.get("id"), f"{pp}.id")]:
            text(obj, path)
        text(p.get("statement"), f"{pp}.statement")
        ids.setdefault(p.get("id"), []).append(f"{pp}.id")
        secs = p.get("secondary_drivers") or []
        if not secs:
            err(f"{pp}.secondary_drivers", "needs at least one secondary driver")
        for j, s in enumerate(secs):
            sp = f"{pp}.secondary_drivers[{j}]"
            text(s.get("id"), f"{sp}.id")
            text(s.get("statement"), f"{sp}.statement")
            ids.setdefault(s.get("id"), []).append(f"{sp}.id")
            for k, c in enumerate(s.get("change_ideas") or []):
                cp = f"{sp}.change_ideas[{k}]"
                text(c.get("id"), f"{cp}.id")
                text(c.get("statement"), f"{cp}.statement")
                ids.setdefault(c.get("id"), []).append(f"{cp}.id")
                if c.get("measure") not in MEASURES:
                    err(f"{cp}.measure", "must link to one of " + ", ".join(MEASURES), c.get("measure"))
    for key, paths in ids.items():
        if key is not None and len(paths) > 1:
            err(paths[1], f"id {key!r} must be unique (also at {paths[0]})", key)
    return ValidationReport(source, 1, f)


def load_driver_diagram(path: str | Path) -> dict:
    d = yaml.safe_load(Path(path).read_text())
    raise_if_invalid(validate_driver_diagram(d, str(path)))
    return d


def driver_frame(d: dict) -> pd.DataFrame:
    """The diagram as a tidy table: ``level, id, parent, statement, measure``."""
    rows = [{"level": "aim", "id": "AIM", "parent": None, "statement": d["aim"]["statement"],
             "measure": d["aim"]["measure"]}]
    for p in d["primary_drivers"]:
        rows.append({"level": "primary", "id": p["id"], "parent": "AIM", "statement": p["statement"], "measure": None})
        for s in p.get("secondary_drivers") or []:
            rows.append({"level": "secondary", "id": s["id"], "parent": p["id"], "statement": s["statement"],
                         "measure": None})
            for c in s.get("change_ideas") or []:
                rows.append({"level": "change_idea", "id": c["id"], "parent": s["id"], "statement": c["statement"],
                             "measure": c["measure"]})
    return pd.DataFrame(rows)


def plot_driver_diagram(d: dict, title: str | None = None):
    """Draw the diagram as a tree, left to right; returns the figure (with alt text)."""
    import textwrap

    from qi_equity.plotting.spc import new_figure

    t = driver_frame(d)
    levels = ["aim", "primary", "secondary", "change_idea"]
    leaves = t[t["level"] == "change_idea"]
    n = max(len(leaves), 1)
    height = max(3.0, 0.55 * n + 1)
    fig, axes = new_figure(width=13, height=height, layout=None, top_ticks=True)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.15 / height, top=1 - 0.75 / height)  # title + level names
    ax = axes[0, 0]
    ypos = {}
    for i, cid in enumerate(leaves["id"]):
        ypos[cid] = n - i
    for lev in ["secondary", "primary", "aim"]:  # parents sit at the mean height of their children
        for _, r in t[t["level"] == lev].iterrows():
            kids = t[t["parent"] == r["id"]]["id"]
            ys = [ypos[k] for k in kids if k in ypos]
            ypos[r["id"]] = sum(ys) / len(ys) if ys else 0.5
    colours = {"aim": "#005eb8", "primary": "#41b6e6", "secondary": "#a6d9f0", "change_idea": "#e8edee"}
    for _, r in t.iterrows():
        x = levels.index(r["level"])
        label = textwrap.fill(f"{r['id']}: {r['statement']}", 34)
        ax.text(x, ypos[r["id"]], label, ha="center", va="center", fontsize=8,
                color="white" if r["level"] == "aim" else "black",
                bbox=dict(boxstyle="round,pad=0.35", fc=colours[r["level"]], ec="#425563", lw=0.6))
        if pd.notna(r["parent"]):
            ax.plot([levels.index(t.set_index("id").loc[r["parent"], "level"]) + 0.32, x - 0.32],
                    [ypos[r["parent"]], ypos[r["id"]]], color="#768692", lw=0.7, zorder=0)
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(0.3, n + 0.7)
    ax.set_xticks(range(4), ["Aim", "Primary drivers", "Secondary drivers", "Change ideas"], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    aim = d["aim"]
    ttl = title or f"Driver diagram: {aim['statement']}"
    ax.set_title(ttl, fontsize=10, loc="left", pad=20)
    fig.qi_alt_text = (f"{ttl}. " + " ".join(
        f"{r['level'].replace('_', ' ')} {r['id']}: {r['statement']}" + (f" (under {r['parent']})" if pd.notna(r["parent"]) else "")
        + "." for _, r in t.iterrows()))
    return fig
