"""PDSA cycles against SPC.

Contract of the PDSA log (one row per cycle, CSV):

======================  ========================================================
``provider_code``       provider running the cycle
``cycle``               whole number, unique within a provider
``change_idea``         the change tested (text, not empty)
``start_date``          YYYY-MM-DD
``end_date``            YYYY-MM-DD, not before ``start_date``
``measure``             the measure it should move (a qi_equity measure name)
``prediction``          what the team predicted (text, not empty)
``what_happened``       what the study found (text; empty while running)
``decision``            ``adopt`` / ``adapt`` / ``abandon`` (empty while running)
======================  ========================================================

Optional columns (a log without them is read as before):

======================  ========================================================
``dimension``, ``group``  the cycle aims at this group's series (e.g. ``imd_quintile``, ``Q1 most deprived``)
``reference_group``     ...or at the gap between ``group`` and this group
``series_file``         with ``measure`` = ``custom``: a CSV of the team's own series
                        (``date, numerator, denominator``, or ``date, value``), relative to
                        the lens data folder (e.g. people opting in to an offer)
``predicted_value``     a numeric prediction of the measure (or gap) ...
``predicted_by``        ... by this date (YYYY-MM-DD; required with ``predicted_value``)
``change_idea_id``      the driver diagram's change idea the cycle tests (e.g. ``C1``)
======================  ========================================================

``end_date`` may be empty while a cycle is running.

References
----------
.. [1] Langley GJ, et al. (2009). The Improvement Guide, 2nd ed. (the Model for Improvement
       and PDSA cycles; predictions made before each test).
.. [2] Provost LP, Murray SK (2011). The Health Care Data Guide: freezing limits on a baseline
       and reading signals after a change.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qi_equity.data.validation import (Failure, ValidationReport, blank, missing_columns, raise_if_invalid,
                                       row_rules)
from qi_equity.measures import MEASURES
from qi_equity.variation import spc

PDSA_COLUMNS = ["provider_code", "cycle", "change_idea", "start_date", "end_date", "measure", "prediction",
                "what_happened", "decision"]
PDSA_OPTIONAL = ["dimension", "group", "reference_group", "series_file", "predicted_value", "predicted_by",
                 "change_idea_id"]
CUSTOM = "custom"  # a measure of the team's own (series_file)
DECISIONS = ("adopt", "adapt", "abandon")
#: Fewest baseline points worth freezing limits on (Provost & Murray suggest 12-20; fewer give
#: provisional limits, flagged by the short_period column).
MIN_BASELINE = 10


def validate_pdsa(df: pd.DataFrame, source: str = "pdsa log") -> ValidationReport:
    """Check a PDSA log: every failure names the column, the rule and the failing rows."""
    n = len(df)
    f: list[Failure] = []
    if (report := missing_columns(df, PDSA_COLUMNS, source)) is not None:
        return report

    for c in PDSA_OPTIONAL:
        if c not in df.columns:
            df = df.assign(**{c: pd.NA})
    add = row_rules(df, f)
    empty = {c: blank(df[c]) for c in PDSA_COLUMNS + PDSA_OPTIONAL}
    for c in ("provider_code", "change_idea", "prediction", "start_date", "measure"):
        add(c, "must not be empty", empty[c])
    cyc = pd.to_numeric(df["cycle"], errors="coerce")
    add("cycle", "must be a whole number >= 1", cyc.isna() | (cyc < 1) | (cyc % 1 != 0))
    add("cycle", "must be unique within a provider", df.duplicated(["provider_code", "cycle"], keep=False))
    start = pd.to_datetime(df["start_date"], format="%Y-%m-%d", errors="coerce")
    end = pd.to_datetime(df["end_date"], format="%Y-%m-%d", errors="coerce")
    add("start_date", "must be a date YYYY-MM-DD", start.isna() & df["start_date"].notna())
    add("end_date", "must be a date YYYY-MM-DD", end.isna() & df["end_date"].notna())
    add("end_date", "must not be before start_date", (end < start).fillna(False))
    add("measure", "must be one of " + ", ".join(MEASURES) + f" or {CUSTOM}",
        df["measure"].notna() & ~df["measure"].isin(list(MEASURES) + [CUSTOM]))
    add("series_file", f"must be given when measure is {CUSTOM} (and only then)",
        (df["measure"] == CUSTOM) != ~empty["series_file"])
    add("group", "needs a dimension", ~empty["group"] & empty["dimension"])
    add("reference_group", "needs a group", ~empty["reference_group"] & empty["group"])
    add("dimension", f"cannot be used with measure {CUSTOM}", ~empty["dimension"] & (df["measure"] == CUSTOM))
    pv = pd.to_numeric(df["predicted_value"], errors="coerce")
    add("predicted_value", "must be a number", pv.isna() & ~empty["predicted_value"])
    by = pd.to_datetime(df["predicted_by"], format="%Y-%m-%d", errors="coerce")
    add("predicted_by", "must be a date YYYY-MM-DD, given with predicted_value",
        (~empty["predicted_value"] & by.isna()) | (by.isna() & ~empty["predicted_by"]))
    add("decision", "must be adopt / adapt / abandon (or empty while running)",
        df["decision"].notna() & ~df["decision"].isin(DECISIONS))
    return ValidationReport(source, n, f)


def load_pdsa(path: str | Path, provider_code: str | None = None) -> pd.DataFrame:
    """Read and validate a PDSA log (optionally one provider's cycles). Raises ContractError."""
    df = pd.read_csv(path, dtype={"provider_code": "string", "measure": "string", "decision": "string",
                                  **{c: "string" for c in PDSA_OPTIONAL if c != "predicted_value"}},
                     keep_default_na=False, na_values=[""])
    raise_if_invalid(validate_pdsa(df, str(path)))
    for c in PDSA_OPTIONAL:
        if c not in df.columns:
            df[c] = pd.NA
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    df["predicted_by"] = pd.to_datetime(df["predicted_by"])
    df["predicted_value"] = pd.to_numeric(df["predicted_value"])
    if provider_code is not None:
        df = df[df["provider_code"] == provider_code]
    return df.sort_values(["provider_code", "cycle"]).reset_index(drop=True)


def pdsa_spc(series: pd.DataFrame, pdsa: pd.DataFrame, value: str = "value", date: str = "month",
             improvement: str = "decrease", **spc_options):
    """XmR of a measure with limits frozen on the baseline before the first cycle [2]_.

    Returns the :class:`~qi_equity.variation.SPCResult` with ``options['pdsa']`` holding the
    cycles (drawn as annotations by ``.plot()``).
    """
    first = pdsa["start_date"].min()
    months = pd.to_datetime(series[date])
    baseline = int((months < first.to_period("M").to_timestamp()).sum()) if pd.notna(first) else None
    if baseline is not None and baseline < MIN_BASELINE:
        baseline = None  # too short a baseline to freeze: use every point, and say so in options
    res = spc(series, value=value, date=date, improvement=improvement, fix_after=baseline, **spc_options)
    res.options["pdsa"] = pdsa[["cycle", "change_idea", "start_date", "decision"]].to_dict("records")
    res.options["baseline_points"] = baseline
    return res


def cycle_after_which_special_cause(res, pdsa: pd.DataFrame, kind: str = "special_cause_improvement") -> dict | None:
    """The latest cycle started before the first special-cause point (of ``kind``) that
    follows the first cycle; None when no such signal appears."""
    p = res.points
    first = pdsa["start_date"].min()
    hits = p[(p["point_type"].astype(str) == kind) & (p["date"] >= first.to_period("M").to_timestamp())]
    if hits.empty:
        return None
    when = hits["date"].min()
    before = pdsa[pdsa["start_date"].dt.to_period("M").dt.to_timestamp() <= when]
    if before.empty:
        return None
    row = before.sort_values("start_date").iloc[-1]
    return {"cycle": int(row["cycle"]), "change_idea": row["change_idea"], "start_date": row["start_date"],
            "first_signal": when}


def prediction_table(pdsa: pd.DataFrame, res=None) -> pd.DataFrame:
    """Prediction against outcome per cycle, with what the SPC chart showed after it.

    Columns: ``cycle, change_idea, start_date, running`` ("running" while a cycle has no end date)
    ``, prediction, what_happened, decision, spc_after`` (the point types seen from the cycle's
    start to the next cycle's start); numeric predictions are set against the outcome by
    :func:`numeric_predictions`.
    """
    t = pdsa[["cycle", "change_idea", "start_date", "prediction", "what_happened", "decision"]].copy()
    if "end_date" in pdsa:
        t.insert(3, "running", pdsa["end_date"].isna().map({True: "running", False: ""}))
    t = t.sort_values("start_date").reset_index(drop=True)
    if res is not None:
        p = res.points
        starts = t["start_date"].dt.to_period("M").dt.to_timestamp().tolist() + [pd.Timestamp.max]
        seen = []
        for a, b in zip(starts[:-1], starts[1:]):
            types = p[(p["date"] >= a) & (p["date"] < b) & ~p["missing"]]["point_type"].astype(str)
            imp, con = (types == "special_cause_improvement").sum(), (types == "special_cause_concern").sum()
            seen.append(f"{imp} improvement, {con} concern of {len(types)} points" if len(types) else "no data yet")
        t["spc_after"] = seen
    t["start_date"] = t["start_date"].dt.strftime("%Y-%m-%d")
    return t.fillna("")


def numeric_predictions(pdsa: pd.DataFrame, series: pd.DataFrame, improvement: str, as_of,
                        value: str = "value", date: str = "month") -> pd.DataFrame:
    """Numeric predictions against what happened: for each cycle with ``predicted_value`` and
    ``predicted_by``, the series' last value on or before that date and whether the prediction
    was met in the measure's improvement direction (at or below it for "decrease", at or above
    it for "increase"; "neither" is met when within 5% of it).

    Returns ``cycle, predicted_value, predicted_by, observed, observed_on, met`` with ``met`` one
    of "met", "not met", "not yet due" (``predicted_by`` after ``as_of``) or "no data".
    """
    cols = ["cycle", "predicted_value", "predicted_by", "observed", "observed_on", "met"]
    if "predicted_value" not in pdsa:
        return pd.DataFrame(columns=cols)
    s = series[[date, value]].dropna().assign(**{date: lambda x: pd.to_datetime(x[date])}).sort_values(date)
    rows = []
    for r in pdsa[pdsa["predicted_value"].notna()].itertuples():
        by = pd.Timestamp(r.predicted_by)
        upto = s[s[date] <= by]
        if by > pd.Timestamp(as_of):
            obs, on, met = (upto[value].iloc[-1], upto[date].iloc[-1]) + ("not yet due",) if len(upto) else (
                None, None, "not yet due")
        elif upto.empty:
            obs, on, met = None, None, "no data"
        else:
            obs, on = float(upto[value].iloc[-1]), upto[date].iloc[-1]
            want = float(r.predicted_value)
            ok = (obs <= want if improvement == "decrease" else obs >= want if improvement == "increase"
                  else abs(obs - want) <= 0.05 * abs(want))
            met = "met" if ok else "not met"
        rows.append({"cycle": r.cycle, "predicted_value": float(r.predicted_value), "predicted_by": by,
                     "observed": obs, "observed_on": on, "met": met})
    return pd.DataFrame(rows, columns=cols)
