"""Findings in plain English: one sentence per finding, in words a board member reads.

Every phrase comes from the display vocabulary (:mod:`qi_equity.data.vocabulary`); numbers
are rounded for reading (waits to 0.1 week, percentages to 0.1 point, ratios to 2 places) and
never include a count.
"""

from __future__ import annotations

import math

import pandas as pd

from qi_equity.data import vocabulary as V


def _num(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:,.{digits}f}"


def month(d) -> str:
    return pd.Timestamp(d).strftime("%B %Y") if d is not None and not pd.isna(d) else ""


def where(specialty: str, specialty_name: str | None) -> str:
    if specialty in (None, "", "all"):
        return ""
    return f" in {specialty_name or 'specialty ' + specialty}"


def _who(row) -> str:
    return V.group(row["dimension"], row["group"])


def _ref(row) -> str:
    return V.group(row["dimension"], row["reference_group"])


def _units(measure: str) -> tuple[str, str]:
    unit = V.measure(measure, "unit")
    return ("weeks", " weeks") if unit == "weeks" else ("percentage points", "%")


def _ci(row, digits=1) -> str:
    return f"95% CI {_num(row['size_lower'], digits)} to {_num(row['size_upper'], digits)}"


def sentence(row) -> str:
    """The sentence for one finding (a row of the findings table)."""
    k = row["kind"]
    m = row["measure"]
    loc = where(row.get("specialty"), row.get("specialty_name"))
    who = V.sentence_case(_who(row)) if k not in ("data_quality", "collaborative_outlier") else ""
    unit, suffix = _units(m) if m in V.vocabulary()["measures"] else ("", "")
    if k == "gap_now":
        if unit == "weeks":
            return (f"{who}{loc} waited {_num(row['size'])} weeks longer than {_ref(row)} over the last "
                    f"{row['window_months']} months ({V.measure(m, 'short')} {_num(row['value_group'])} against "
                    f"{_num(row['value_reference'])} weeks; {_ci(row)}).")
        return (f"{who}{loc} {V.measure(m, 'worse')} than {_ref(row)} over the last {row['window_months']} months: "
                f"{_num(row['value_group'])}% against {_num(row['value_reference'])}% (a gap of {_num(row['size'])} "
                f"percentage points, {_ci(row)}).")
    if k in ("gap_changing", "improvement"):
        verb = "widened" if k == "gap_changing" else "narrowed"
        return (f"Since {month(row['period_start'])}, the gap in {V.measure(m, 'short')} between {_who(row)}{loc} and "
                f"{_ref(row)} has {verb}: from {_num(row['mean_before'])} to {_num(row['mean_after'])} {unit} "
                f"(change {_num(row['size'])} {unit}, {_ci(row)}; {V.grain(row['grain'])} chart).")
    if k == "group_changing":
        better = row["direction"] == "improving"
        verb = "fallen" if row["size"] < 0 else "risen"
        value = f"{_num(row['mean_before'])}{suffix} to {_num(row['mean_after'])}{suffix}"
        return (f"Since {month(row['period_start'])}, the {V.measure(m, 'short')} of {_who(row)}{loc} has {verb} "
                f"from {value} ({'an improvement' if better else 'a deterioration'}; change {_num(row['size'])} "
                f"{unit}, {_ci(row)}; {V.grain(row['grain'])} chart).")
    if k == "stage":
        return (f"For {_who(row)}{loc}, the gap opens {V.stage(row['stage'])}: {_num(row['size'])} weeks longer than "
                f"{_ref(row)} at that stage ({_ci(row)}).")
    if k == "data_quality":
        return (f"{V.measure(m, 'label')}: {_num(row['value_group'])}% of pathways (95% CI "
                f"{_num(row['size_lower'])} to {_num(row['size_upper'])}%), against a standard of at most "
                f"{_num(row['value_reference'], 0)}%. Inequities for these patients cannot be seen.")
    if k == "seldom_heard":
        return (f"{who} were {_num(row['value_group'])}% of the people the engagement reached, against "
                f"{_num(row['value_reference'])}% of the catchment population (reached at "
                f"{_num(row['ratio'], 2)} times their share; 95% CI {_num(row['ratio_lower'], 2)} to "
                f"{_num(row['ratio_upper'], 2)}).")
    if k == "collaborative_outlier":
        side = "above" if row["direction"] == "worse" else "below"
        std = ", standardised for its patients' deprivation," if row.get("standardised") is True else ""
        return (f"{row['provider_name']}'s {V.measure(m, 'short')}{std} over the last {row['window_months']} months "
                f"({_num(row['value_group'])}%) is {side} the other trusts' ({_num(row['value_reference'])}%): "
                f"beyond their {row['limit']} limits ({row['method']}).")
    if k == "too_few":
        return (f"Too few to tell for {_who(row)}: {row['reason']} in the last {row['window_months']} months "
                f"({row['measure_list']}).")
    return str(row.get("sentence") or "")
