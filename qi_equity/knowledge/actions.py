"""The action log: what a team decided to do about a finding, and where it stands.

The link between data and action (theory of knowledge: a change is a prediction tested by PDSA
cycles): each action answers one or more findings (by their stable ``finding_id``), names who owns
it (a role, never a person's name), when it started and is due, its status, the change idea and
PDSA cycles it runs through, and the measure and group it should move.

Contract of the action log (one row per action, CSV):

====================  ============================================================
``action_id``         short id, unique in the file (e.g. ``XQC-A1``)
``provider_code``     the provider taking the action
``finding_ids``       the finding(s) it answers, ``;``-separated, each the provider's own
                      (``<provider_code>-<8 hex digits>``, as the report and findings.json show)
``action``            what will be done (text, not empty)
``owner_role``        who owns it: a role ("Head of access"), not a name (text, not empty)
``start_date``        YYYY-MM-DD
``due_date``          YYYY-MM-DD, not before ``start_date`` (may be empty)
``status``            ``planned`` / ``in progress`` / ``done`` / ``stopped``
``change_idea``       the change idea it tests (text; may be empty)
``pdsa_cycles``       the PDSA log's cycle numbers it runs through, ``;``-separated (may be empty)
``measure``           the measure it should move (a qi_equity measure name; may be empty)
``group``             the group it should move, as the findings name it (may be empty)
====================  ============================================================

References
----------
.. [1] Langley GJ, et al. (2009). The Improvement Guide, 2nd ed. Jossey-Bass (aims, measures and
       change ideas tested by PDSA cycles).
.. [2] NHS England (2021). Making Data Count: Strengthening your decisions ("from data to action":
       a board asks what is being done about each signal and who owns it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from qi_equity.data.validation import (Failure, ValidationReport, blank, missing_columns, raise_if_invalid,
                                       row_rules)
from qi_equity.measures import MEASURES

ACTION_COLUMNS = ["action_id", "provider_code", "finding_ids", "action", "owner_role", "start_date", "due_date",
                  "status", "change_idea", "pdsa_cycles", "measure", "group"]
STATUSES = ("planned", "in progress", "done", "stopped")
FINDING_ID = re.compile(r"^[A-Z0-9]{2,8}-[0-9a-f]{8}$")
NO_ACTION = "no action recorded"


def split_list(value) -> list[str]:
    """``"a; b;"`` -> ``["a", "b"]`` (empty or missing -> ``[]``)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return []
    return [p.strip() for p in str(value).split(";") if p.strip()]


def validate_actions(df: pd.DataFrame, source: str = "action log") -> ValidationReport:
    """Check an action log: every failure names the column, the rule and how many rows fail."""
    n = len(df)
    f: list[Failure] = []
    if (report := missing_columns(df, ACTION_COLUMNS, source)) is not None:
        return report
    add = row_rules(df, f)
    empty = {c: blank(df[c]) for c in df.columns}
    for c in ("action_id", "provider_code", "finding_ids", "action", "owner_role", "start_date", "status"):
        add(c, "must not be empty", empty[c])
    add("action_id", "must be unique in the file", df["action_id"].notna() & df.duplicated("action_id", keep=False))
    ids = df["finding_ids"].map(split_list)
    add("finding_ids", "each must be a finding id such as XQC-1dff00d5 (';' between several)",
        ~empty["finding_ids"] & ids.map(lambda xs: not xs or not all(FINDING_ID.match(x) for x in xs)))
    own = [all(x.startswith(f"{p}-") for x in xs) for xs, p in zip(ids, df["provider_code"].astype(str))]
    add("finding_ids", "must be findings of the row's own provider (the id starts with its code)",
        ~empty["finding_ids"] & ~pd.Series(own, index=df.index))
    start = pd.to_datetime(df["start_date"], format="%Y-%m-%d", errors="coerce")
    due = pd.to_datetime(df["due_date"], format="%Y-%m-%d", errors="coerce")
    add("start_date", "must be a date YYYY-MM-DD", start.isna() & ~empty["start_date"])
    add("due_date", "must be a date YYYY-MM-DD (or empty)", due.isna() & ~empty["due_date"])
    add("due_date", "must not be before start_date", (due < start).fillna(False))
    add("status", "must be one of " + " / ".join(STATUSES), ~empty["status"] & ~df["status"].isin(STATUSES))
    cycles = df["pdsa_cycles"].map(split_list)
    add("pdsa_cycles", "must be whole numbers >= 1 (';' between several)",
        cycles.map(lambda xs: not all(x.isdigit() and int(x) >= 1 for x in xs)))
    add("measure", "must be one of " + ", ".join(MEASURES) + " (or empty)",
        ~empty["measure"] & ~df["measure"].isin(list(MEASURES)))
    return ValidationReport(source, n, f)


def load_actions(path: str | Path, provider_code: str | None = None) -> pd.DataFrame:
    """Read and validate an action log (optionally one provider's actions). Raises
    :class:`~qi_equity.data.validation.ContractError` naming the file, column, rule and rows.

    Returns the contract's columns (dates as Timestamps, ``finding_ids`` and ``pdsa_cycles`` as
    lists), one row per action, in file order."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raise_if_invalid(validate_actions(df, str(path)))
    df = df[ACTION_COLUMNS].copy()
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["due_date"] = pd.to_datetime(df["due_date"])
    df["finding_ids"] = df["finding_ids"].map(split_list)
    df["pdsa_cycles"] = df["pdsa_cycles"].map(lambda v: [int(x) for x in split_list(v)])
    if provider_code is not None:
        df = df[df["provider_code"] == provider_code]
    return df.reset_index(drop=True)


def actions_by_finding(findings: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Every finding with the actions recorded against it: one row per (finding, action), and one
    row with ``status`` "no action recorded" for a finding no action names.

    Parameters
    ----------
    findings : a findings table (at least ``finding_id``; ``provider_code`` when present).
    actions : :func:`load_actions` output.

    Returns
    -------
    DataFrame
        ``finding_id, action_id, action, owner_role, start_date, due_date, status, change_idea,
        pdsa_cycles`` in the findings' order (an action answering several findings appears under each).
    """
    long = actions.explode("finding_ids").rename(columns={"finding_ids": "finding_id"})
    cols = ["action_id", "action", "owner_role", "start_date", "due_date", "status", "change_idea", "pdsa_cycles"]
    out = findings[["finding_id"]].merge(long[["finding_id"] + cols], on="finding_id", how="left", sort=False)
    out["status"] = out["status"].fillna(NO_ACTION)
    return out.reset_index(drop=True)


def actions_without_findings(findings: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Actions naming a finding this run did not make (the finding has gone: the gap closed, or
    the data changed): ``action_id, finding_id, status``. A report lists them rather than
    dropping them silently."""
    long = actions.explode("finding_ids").rename(columns={"finding_ids": "finding_id"})
    gone = long[~long["finding_id"].isin(set(findings["finding_id"]))]
    return gone[["action_id", "finding_id", "status"]].reset_index(drop=True)


def status_summary(actions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Actions across the collaborative: ``provider_code``, a column of counts per status, and
    ``overdue`` (neither done nor stopped, due before ``as_of``: a report passes its census date, so
    a rerun says the same)."""
    today = pd.Timestamp(as_of)
    t = pd.crosstab(actions["provider_code"], actions["status"]).reindex(columns=list(STATUSES), fill_value=0)
    late = actions[~actions["status"].isin(["done", "stopped"]) & (actions["due_date"] < today)]
    t["overdue"] = late.groupby("provider_code").size().reindex(t.index, fill_value=0)
    return t.reset_index().rename_axis(columns=None)
