"""Engagement log: reach of hybrid engagement against the catchment population.

Contract (three CSV tables, joined on ``activity_id``):

``activities``: ``provider_code, activity_id`` (unique), ``date`` (YYYY-MM-DD), ``channel``
(online / offline / hybrid), ``format`` (survey, interview, workshop, drop-in, focus group,
community event), ``participants`` (whole number >= 0).

``reach``: ``activity_id, dimension`` (sex_age, ethnic_group, imd_quintile), ``group`` (a group
of that dimension), ``participants`` -- the participants' characteristics in aggregate; per
activity and dimension they add up to at most the activity's participants (the rest: not
recorded).

``barriers``: ``activity_id, dimension, group, theme`` (a code of the barrier taxonomy),
``mentions`` (whole number >= 1).

References
----------
.. [1] Institute for Healthcare Improvement (2017). Psychology of change framework.
.. [2] NHS England (2023). "Working in partnership with people and communities: statutory
       guidance" -- reaching people who are seldom heard, several channels.
.. [3] Wilson EB (1927) for the interval of each group's share of participants.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from qi_equity.data import contract as C
from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid, row_rules
from qi_equity.equity.intervals import wilson

CHANNELS = ("online", "offline", "hybrid")
FORMATS = ("survey", "interview", "workshop", "drop-in", "focus group", "community event")
REACH_DIMENSIONS = ("sex_age", "ethnic_group", "imd_quintile")
ACTIVITY_COLUMNS = ["provider_code", "activity_id", "date", "channel", "format", "participants"]
REACH_COLUMNS = ["activity_id", "dimension", "group", "participants"]
BARRIER_COLUMNS = ["activity_id", "dimension", "group", "theme", "mentions"]


def barrier_taxonomy(path: str | Path | None = None) -> pd.DataFrame:
    """The barrier taxonomy (``code, label, about``); the kit's default unless ``path`` is given."""
    p = Path(path) if path else Path(__file__).with_name("barriers.yaml")
    return pd.DataFrame(yaml.safe_load(p.read_text()))


def _check(df, columns, name, n_failures):
    missing = [c for c in columns if c not in df.columns]
    for c in missing:
        n_failures.append(Failure(f"{name}.{c}", "required column is missing", -1, len(df)))
    return not missing


def validate_engagement(activities: pd.DataFrame, reach: pd.DataFrame, barriers: pd.DataFrame,
                        taxonomy: pd.DataFrame | None = None, source: str = "engagement log") -> ValidationReport:
    """Every contract rule; each failure names the table.column, the rule and the failing rows."""
    f: list[Failure] = []
    ok = [_check(activities, ACTIVITY_COLUMNS, "activities", f), _check(reach, REACH_COLUMNS, "reach", f),
          _check(barriers, BARRIER_COLUMNS, "barriers", f)]
    if not all(ok):
        return ValidationReport(source, len(activities), f)
    tax = set((taxonomy if taxonomy is not None else barrier_taxonomy())["code"])

    def add(table, df, col, rule, bad):
        row_rules(df, f, prefix=f"{table}.")(col, rule, bad)

    a = activities
    add("activities", a, "activity_id", "must be unique", a["activity_id"].duplicated(keep=False))
    add("activities", a, "date", "must be a date YYYY-MM-DD",
        pd.to_datetime(a["date"], format="%Y-%m-%d", errors="coerce").isna())
    add("activities", a, "channel", "must be one of " + " / ".join(CHANNELS), ~a["channel"].isin(CHANNELS))
    add("activities", a, "format", "must be one of " + ", ".join(FORMATS), ~a["format"].isin(FORMATS))
    part = pd.to_numeric(a["participants"], errors="coerce")
    add("activities", a, "participants", "must be a whole number >= 0", part.isna() | (part < 0) | (part % 1 != 0))
    known = set(a["activity_id"])
    for name, t in (("reach", reach), ("barriers", barriers)):
        add(name, t, "activity_id", "must match an activity", ~t["activity_id"].isin(known))
        add(name, t, "dimension", "must be one of " + ", ".join(REACH_DIMENSIONS), ~t["dimension"].isin(REACH_DIMENSIONS))
        valid_group = [g in C.DIMENSIONS[d].groups if d in C.DIMENSIONS else False
                       for d, g in zip(t["dimension"], t["group"])]
        add(name, t, "group", "must be a group of its dimension", ~pd.Series(valid_group, index=t.index, dtype=bool))
    rp = pd.to_numeric(reach["participants"], errors="coerce")
    add("reach", reach, "participants", "must be a whole number >= 0", rp.isna() | (rp < 0) | (rp % 1 != 0))
    tot = reach.assign(p=rp).groupby(["activity_id", "dimension"])["p"].sum().rename("sum").reset_index()
    tot = tot.merge(a[["activity_id", "participants"]].assign(cap=part), on="activity_id", how="left")
    over = tot["sum"] > tot["cap"]
    if over.any():
        f.append(Failure("reach.participants", "must not add up to more than the activity's participants",
                         int(over.sum()), len(tot), tot.loc[over, "activity_id"].head(5).tolist()))
    add("barriers", barriers, "theme", "must be a code of the barrier taxonomy", ~barriers["theme"].isin(tax))
    m = pd.to_numeric(barriers["mentions"], errors="coerce")
    add("barriers", barriers, "mentions", "must be a whole number >= 1", m.isna() | (m < 1) | (m % 1 != 0))
    return ValidationReport(source, len(activities), f)


def load_engagement(folder: str | Path, provider_code: str | None = None, taxonomy: str | Path | None = None) -> dict:
    """Read and validate ``activities.csv``, ``reach.csv`` and ``barriers.csv`` from a folder,
    against the barrier taxonomy ``taxonomy`` (a YAML list of ``code, label, about``), else the
    folder's own ``taxonomy.yaml`` when it has one, else the kit's. The result's ``taxonomy``
    holds the one used (the reports label themes from it)."""
    folder = Path(folder)
    a = pd.read_csv(folder / "activities.csv", dtype={"activity_id": str, "provider_code": str})
    r = pd.read_csv(folder / "reach.csv", dtype={"activity_id": str})
    b = pd.read_csv(folder / "barriers.csv", dtype={"activity_id": str})
    own = folder / "taxonomy.yaml"
    tax = barrier_taxonomy(taxonomy or (own if own.is_file() else None))
    raise_if_invalid(validate_engagement(a, r, b, taxonomy=tax, source=str(folder)))
    a["date"] = pd.to_datetime(a["date"])
    if provider_code is not None:
        a = a[a["provider_code"] == provider_code]
        r = r[r["activity_id"].isin(a["activity_id"])]
        b = b[b["activity_id"].isin(a["activity_id"])]
    return {"taxonomy": tax, "activities": a.reset_index(drop=True), "reach": r.reset_index(drop=True),
            "barriers": b.reset_index(drop=True)}


def population_groups(population: pd.DataFrame, dimension: str) -> pd.Series:
    """Each catchment row's group on a reach dimension."""
    p = population
    if dimension == "sex_age":
        sex = p["sex"].map(C.SEX_LABEL)
        part = np.where(p["age_band"] == "0-15", "0-15", np.where(p["age_band"].isin(["65-74", "75+"]), "65+", "16-64"))
        return sex + " " + part
    if dimension == "ethnic_group":
        return p["ethnic_group"]
    if dimension == "age_band":
        return p["age_band"]
    if dimension == "imd_quintile":
        q = np.ceil(p["imd_decile"] / 2).astype(int)
        return q.map({1: "Q1 most deprived", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Q5 least deprived"})
    raise ValueError(f"dimension must be one of {REACH_DIMENSIONS}")


def population_by(population: pd.DataFrame, dimension: str) -> pd.Series:
    """Catchment population by the groups of a reach dimension."""
    return population.groupby(population_groups(population, dimension))["population"].sum()


def reach_vs_population(log: dict, population: pd.DataFrame, dimension: str, confidence: float = 0.95,
                        channel: str | None = None) -> pd.DataFrame:
    """Each group's share of participants against its share of the catchment population
    (of one ``channel``'s activities when given: online, offline or hybrid).

    Returns
    -------
    pandas.DataFrame
        ``group, participants, share, share_lower, share_upper`` (Wilson), ``population,
        population_share, representation`` (share / population share) and ``under_represented``
        (the share's upper limit is below the population share), sorted most missing first.
    """
    r = log["reach"][log["reach"]["dimension"] == dimension]
    if channel is not None:
        ids = log["activities"].loc[log["activities"]["channel"] == channel, "activity_id"]
        r = r[r["activity_id"].isin(ids)]
    got = r.groupby("group")["participants"].sum()
    pop = population_by(population, dimension)
    groups = [g for g in C.DIMENSIONS[dimension].groups if g in pop.index]
    got = got.reindex(groups, fill_value=0).astype(float)
    total = got.sum()
    if total <= 0:
        raise ValueError(f"no participants recorded by {dimension}")
    lo, hi = wilson(got.to_numpy(), np.full(len(got), total), confidence)
    ps = (pop.reindex(groups) / pop.reindex(groups).sum()).to_numpy()
    out = pd.DataFrame({"group": groups, "participants": got.to_numpy().astype(int), "share": got.to_numpy() / total,
                        "share_lower": lo, "share_upper": hi, "population": pop.reindex(groups).to_numpy(),
                        "population_share": ps})
    out["representation"] = out["share"] / out["population_share"]
    out["under_represented"] = out["share_upper"] < out["population_share"]
    return out.sort_values("representation").reset_index(drop=True)


def seldom_heard(log: dict, population: pd.DataFrame, dimensions=REACH_DIMENSIONS) -> pd.DataFrame:
    """The 'who is missing' ranking: under-represented groups across dimensions, most missing first."""
    parts = [reach_vs_population(log, population, d).assign(dimension=d) for d in dimensions
             if (log["reach"]["dimension"] == d).any()]
    out = pd.concat(parts, ignore_index=True)
    out = out[out["under_represented"]].sort_values("representation")
    return out[["dimension", "group", "participants", "share", "population_share", "representation"]].reset_index(drop=True)


def reach_by_channel(log: dict, dimension: str) -> pd.DataFrame:
    """Participants by group (rows) and channel (columns) for one dimension."""
    r = log["reach"][log["reach"]["dimension"] == dimension].merge(log["activities"][["activity_id", "channel"]],
                                                                   on="activity_id")
    t = r.pivot_table(index="group", columns="channel", values="participants", aggfunc="sum", fill_value=0)
    order = [g for g in C.DIMENSIONS[dimension].groups if g in t.index]
    t = t.reindex(order).reindex(columns=[c for c in CHANNELS if c in t.columns])
    t.columns.name = None
    return t.reset_index()


def barriers_by_group(log: dict, dimension: str, by_channel: bool = False, taxonomy: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """Mentions of each barrier theme by group (and channel): ``group, [channel,] theme, label, mentions``."""
    taxonomy = taxonomy if taxonomy is not None else log.get("taxonomy")
    tax = (taxonomy if taxonomy is not None else barrier_taxonomy()).set_index("code")["label"]
    b = log["barriers"][log["barriers"]["dimension"] == dimension]
    keys = ["group", "theme"]
    if by_channel:
        b = b.merge(log["activities"][["activity_id", "channel"]], on="activity_id")
        keys = ["group", "channel", "theme"]
    t = b.groupby(keys, as_index=False)["mentions"].sum()
    t["label"] = t["theme"].map(tax)
    return t.sort_values(keys[:-1] + ["mentions"], ascending=[True] * (len(keys) - 1) + [False]).reset_index(drop=True)
