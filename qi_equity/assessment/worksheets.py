"""Lens worksheets: the four lenses' questions answered in words by each team, and IHI's
intentional-equity questions answered in words with an optional score.

Templates come from ``worksheets.yaml`` (the intentional-equity questions from ``themes.yaml``, in
their three stages: framing / orientation, project design, project operations). Answers are
recorded in ``worksheets.csv``, one row per answer:

==================  =============================================================
``provider_code``   the provider
``team``            the team answering (text, not empty)
``answered_on``     YYYY-MM-DD (a later date is a repeat assessment)
``lens``            ``system`` / ``psychology`` / ``knowledge`` / ``variation`` / ``intentional_equity``
``code``            a question code of that lens (``S1`` ... , ``F1`` ...)
``answer``          the team's answer in words (not empty)
``score``           intentional equity only, optional: 0 not started ... 4 embedded
==================  =============================================================

References
----------
.. [1] Institute for Healthcare Improvement (2021). The four lenses of profound knowledge (after
       Deming, The New Economics, 1994): appreciation for a system, psychology of change, theory of
       knowledge, understanding variation.
.. [2] Institute for Healthcare Improvement (2021). Improving health equity: guidance for
       intentional equity in QI (framing, project design, project operations).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from qi_equity.data.validation import (Failure, ValidationReport, blank, missing_columns, raise_if_invalid,
                                       row_rules)

WORKSHEET_COLUMNS = ["provider_code", "team", "answered_on", "lens", "code", "answer", "score"]
STAGES = {"framing": "Framing and orientation", "design": "Project design", "operations": "Project operations"}


@lru_cache(maxsize=1)
def templates() -> dict[str, dict]:
    """Lens -> ``{"title", "scored", "questions": DataFrame of code, topic, question}``."""
    from qi_equity.assessment.selfassessment import frameworks

    raw = yaml.safe_load(Path(__file__).with_name("worksheets.yaml").read_text())
    out = {}
    for lens, spec in raw.items():
        if "from_themes" in spec:
            q = frameworks()[spec["from_themes"]].copy()
            q["topic"] = q["stage"].map(STAGES)
        else:
            q = pd.DataFrame(spec["questions"])
        out[lens] = {"title": spec["title"], "scored": bool(spec.get("scored")), "questions": q}
    return out


def blank_worksheet(lens: str, provider_code: str = "", team: str = "") -> pd.DataFrame:
    """An empty worksheet to fill in (the rows of ``worksheets.csv``, answers blank), with each
    question beside its code."""
    q = templates()[lens]["questions"]
    return pd.DataFrame({"provider_code": provider_code, "team": team, "answered_on": "", "lens": lens,
                         "code": q["code"], "question": q["question"], "answer": "", "score": ""})


def validate_worksheets(df: pd.DataFrame, source: str = "worksheets.csv") -> ValidationReport:
    """Check recorded answers: every failure names the column, the rule and how many rows fail."""
    f: list[Failure] = []
    if (report := missing_columns(df, [c for c in WORKSHEET_COLUMNS if c != "score"], source)) is not None:
        return report
    if "score" not in df.columns:
        df = df.assign(score=pd.NA)
    add = row_rules(df, f)
    t = templates()
    for c in ("provider_code", "team", "answered_on", "lens", "code", "answer"):
        add(c, "must not be empty", blank(df[c]))
    add("lens", "must be one of " + " / ".join(t), df["lens"].notna() & ~df["lens"].isin(list(t)))
    ok = [lens in t and code in set(t[lens]["questions"]["code"]) for lens, code in zip(df["lens"], df["code"])]
    add("code", "must be a question of its lens", df["lens"].isin(list(t)) & ~pd.Series(ok, index=df.index))
    on = pd.to_datetime(df["answered_on"], format="%Y-%m-%d", errors="coerce")
    add("answered_on", "must be a date YYYY-MM-DD", on.isna() & df["answered_on"].notna())
    score = pd.to_numeric(df["score"], errors="coerce")
    has = df["score"].notna() & (df["score"].astype(str).str.strip() != "")
    add("score", "must be a whole number 0-4", has & ~score.isin([0, 1, 2, 3, 4]))
    scored = df["lens"].map(lambda x: t.get(x, {}).get("scored", False)).astype(bool)
    add("score", "is only for the intentional-equity questions", has & ~scored)
    add("code", "must be answered once per team and date",
        df.duplicated(["provider_code", "team", "answered_on", "lens", "code"], keep=False))
    return ValidationReport(source, len(df), f)


def load_worksheets(path: str | Path, provider_code: str | None = None) -> pd.DataFrame:
    """Read and validate recorded answers (raises ContractError naming file, column, rule, rows)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raise_if_invalid(validate_worksheets(df, str(path)))
    if "score" not in df.columns:
        df["score"] = pd.NA
    df = df[WORKSHEET_COLUMNS].copy()
    df["answered_on"] = pd.to_datetime(df["answered_on"])
    df["score"] = pd.to_numeric(df["score"]).astype("Int64")
    if provider_code is not None:
        df = df[df["provider_code"] == provider_code]
    return df.reset_index(drop=True)


def latest_answers(df: pd.DataFrame, lens: str) -> pd.DataFrame:
    """Each team's latest answers to one lens, in the template's order, with the score at its
    answers before (repeat assessments).

    Returns ``provider_code, team, code, topic, question, answered_on, answer, score,
    previous_score``."""
    cols = ["provider_code", "team", "code", "topic", "question", "answered_on", "answer", "score", "previous_score"]
    q = templates()[lens]["questions"][["code", "topic", "question"]]
    d = df[df["lens"] == lens]
    if d.empty:
        return pd.DataFrame(columns=cols)
    last = d.groupby(["provider_code", "team"])["answered_on"].transform("max")
    latest, earlier = d[d["answered_on"] == last], d[d["answered_on"] < last]
    prev = (earlier.sort_values("answered_on").groupby(["provider_code", "team", "code"])["score"].last()
            .rename("previous_score"))
    out = latest.merge(q, on="code").join(prev, on=["provider_code", "team", "code"])
    order = {c: i for i, c in enumerate(q["code"])}
    out = out.sort_values(["provider_code", "team", "code"], key=lambda s: s.map(order) if s.name == "code" else s)
    return out[cols].reset_index(drop=True)


def compare_answers(df: pd.DataFrame, lens: str) -> pd.DataFrame:
    """The collaborative view of one lens: a row per question, a column per provider holding its
    teams' latest answers (``team: answer``, ``;`` between teams)."""
    a = latest_answers(df, lens)
    q = templates()[lens]["questions"]
    out = q[["code", "topic", "question"]].copy()
    for p, g in a.groupby("provider_code", sort=True):
        words = g.groupby("code").apply(lambda x: "; ".join(f"{t}: {w}" for t, w in zip(x["team"], x["answer"])),
                                        include_groups=False)
        out[p] = out["code"].map(words).fillna("")
    return out


def append_answers(path: str | Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Validate new answers and add them to ``path`` (created with its header when missing); the
    whole file is checked with them before anything is written, so a bad answer changes nothing."""
    path = Path(path)
    new = rows.reindex(columns=WORKSHEET_COLUMNS).astype(object)
    old = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]) if path.exists() else None
    both = new if old is None else pd.concat([old.reindex(columns=WORKSHEET_COLUMNS), new], ignore_index=True)
    raise_if_invalid(validate_worksheets(both, str(path)))
    tmp = path.with_suffix(path.suffix + ".tmp")
    both.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
    return both
