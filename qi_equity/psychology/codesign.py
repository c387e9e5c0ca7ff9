"""Co-design workshops: the ideas people put forward, their votes, the themes they answer and,
where taken forward, the change idea of the driver diagram they became.

Contract of a workshop file (CSV, one row per idea):

==================  ==============================================================
``provider_code``   the trust
``workshop_id``     the workshop (several ideas each)
``date``            YYYY-MM-DD
``idea_id``         unique in the file
``idea``            the idea in the words the workshop used (not empty)
``votes``           whole number >= 0 (dots, hands, or counted cards)
``themes``          codes of the coding frame it answers, ``;`` between several
``status``          ``proposed`` / ``taken forward`` / ``not taken forward``
``change_idea_id``  the driver diagram's change idea it became (e.g. ``C1``); only with
                    ``taken forward``; may be empty
==================  ==============================================================

References
----------
.. [1] Robert G, et al. (2015). Patients and staff as codesigners of healthcare services. *BMJ*
       350: g7714 (experience-based co-design: people who use a service and staff design changes
       together).
.. [2] Langley GJ, et al. (2009). *The Improvement Guide*, 2nd ed. (change ideas in a driver
       diagram, each tested by PDSA cycles).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qi_equity.data.validation import ValidationReport, blank, missing_columns, raise_if_invalid, row_rules

WORKSHOP_COLUMNS = ["provider_code", "workshop_id", "date", "idea_id", "idea", "votes", "themes", "status",
                    "change_idea_id"]
STATUSES = ("proposed", "taken forward", "not taken forward")


def _codes(v) -> list[str]:
    return [c.strip() for c in str(v or "").split(";") if c.strip()]


def check_workshop(df: pd.DataFrame, frame: pd.DataFrame, change_ideas: dict | None = None,
                   source: str = "workshop file") -> ValidationReport:
    """Every rule of a workshop file; ``change_ideas``: provider -> set of its driver diagram's
    change idea ids (when given, a ``change_idea_id`` must be one of its provider's)."""
    if (report := missing_columns(df, WORKSHOP_COLUMNS, source)) is not None:
        return report
    f = []
    add = row_rules(df, f)
    empty = {c: blank(df[c]) for c in WORKSHOP_COLUMNS}
    for c in ("provider_code", "workshop_id", "date", "idea_id", "idea", "votes", "status"):
        add(c, "must not be empty", empty[c])
    add("idea_id", "must be unique in the file", ~empty["idea_id"] & df["idea_id"].duplicated(keep=False))
    add("date", "must be a date YYYY-MM-DD",
        ~empty["date"] & pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce").isna())
    v = pd.to_numeric(df["votes"], errors="coerce")
    add("votes", "must be a whole number >= 0", ~empty["votes"] & (v.isna() | (v < 0) | (v % 1 != 0)))
    known = set(frame["code"])
    add("themes", "each must be a code of the coding frame (';' between several)",
        df["themes"].map(lambda s: any(c not in known for c in _codes(s))))
    add("status", "must be one of " + " / ".join(STATUSES), ~empty["status"] & ~df["status"].isin(STATUSES))
    add("change_idea_id", "only for an idea taken forward", ~empty["change_idea_id"] & (df["status"] != "taken forward"))
    if change_ideas is not None:
        bad = [bool(c) and c not in change_ideas.get(p, set())
               for c, p in zip(df["change_idea_id"].fillna("").astype(str), df["provider_code"].astype(str))]
        add("change_idea_id", "must be a change idea of the provider's driver diagram", pd.Series(bad, index=df.index))
    return ValidationReport(source, len(df), f)


def load_workshop(path: str | Path, frame: pd.DataFrame, change_ideas: dict | None = None,
                  provider_code: str | None = None) -> pd.DataFrame:
    """Read and check a workshop file (one provider's ideas when ``provider_code`` is given).
    Raises :class:`~qi_equity.data.validation.ContractError` naming the file, column, rule, rows."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raise_if_invalid(check_workshop(df, frame, change_ideas, str(path)))
    df = df[WORKSHOP_COLUMNS].copy()
    df["votes"] = df["votes"].astype(int)
    df["themes"] = df["themes"].map(_codes)
    if provider_code is not None:
        df = df[df["provider_code"] == provider_code]
    return df.reset_index(drop=True)


def change_ideas_of(diagram: dict) -> dict[str, str]:
    """A driver diagram's change ideas, ``{id: statement}``."""
    out = {}
    for p in diagram.get("primary_drivers") or []:
        for s in p.get("secondary_drivers") or []:
            for c in s.get("change_ideas") or []:
                out[str(c["id"])] = str(c["statement"])
    return out


def ideas_table(workshop: pd.DataFrame, frame: pd.DataFrame, change_ideas: dict | None = None) -> pd.DataFrame:
    """The ideas to read, most votes first: ``idea, votes, themes`` (the frame's labels),
    ``status, became`` (the change idea's statement, or "")."""
    label = dict(zip(frame["code"], frame["label"]))
    ci = change_ideas or {}
    w = workshop.sort_values(["votes", "idea_id"], ascending=[False, True], kind="stable")
    return pd.DataFrame({"idea": w["idea"], "votes": w["votes"],
                         "themes": w["themes"].map(lambda cs: "; ".join(label.get(c, c) for c in cs)),
                         "status": w["status"],
                         "became": [ci.get(str(c), "") if isinstance(c, str) else "" for c in w["change_idea_id"]]}
                        ).reset_index(drop=True)


__all__ = ["check_workshop", "load_workshop", "change_ideas_of", "ideas_table", "WORKSHOP_COLUMNS", "STATUSES"]
