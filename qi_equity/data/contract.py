"""The provider-extract data contract: columns, codes and derived fields.

This module is the one place where the contract lives in code. ``docs/data-contract.md``
describes the same rules for people; :mod:`qi_equity.data.validation` turns each rule
into a great-expectations expectation; :func:`derive` computes every derived field.

One row is one referral-to-treatment (RTT) pathway, pseudonymised.

References
----------
.. [1] NHS Data Dictionary, "Ethnic Category" (codes A-S, Z not stated; 99 not known).
.. [2] NHS England, "Recording and reporting referral to treatment (RTT) waiting times
       for consultant-led elective care" (clock starts at referral; stops at first
       definitive treatment or removal; incomplete pathways counted at month end).
.. [3] Ministry of Housing, Communities & Local Government, "English Indices of
       Deprivation 2019" (decile 1 = most deprived 10% of LSOAs nationally).
.. [4] NHS England, "Core20PLUS5 - an approach to reducing healthcare inequalities"
       (Core20 = most deprived 20% nationally, IMD deciles 1-2).
.. [5] Office for National Statistics: working age 16-64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------

#: NHS Data Dictionary ethnic category codes mapped to their broad group [1]_.
ETHNIC_CATEGORY_GROUP: dict[str, str] = {
    "A": "White", "B": "White", "C": "White",
    "D": "Mixed", "E": "Mixed", "F": "Mixed", "G": "Mixed",
    "H": "Asian", "J": "Asian", "K": "Asian", "L": "Asian",
    "M": "Black", "N": "Black", "P": "Black",
    "R": "Other", "S": "Other",
    "Z": "Not stated", "99": "Not known",
}

#: Descriptions of the ethnic category codes [1]_.
ETHNIC_CATEGORY_NAME: dict[str, str] = {
    "A": "White - British", "B": "White - Irish", "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean", "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian", "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian", "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi", "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean", "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background",
    "R": "Other Ethnic Groups - Chinese", "S": "Other Ethnic Groups - Any other ethnic group",
    "Z": "Not stated", "99": "Not known",
}

ETHNIC_GROUPS = ["White", "Mixed", "Asian", "Black", "Other", "Not stated", "Not known"]
ETHNICITY_UNRECORDED = ("Z", "99")

OUTCOMES = ("waiting", "treated", "removed")

#: Sex as recorded: F female, M male, U not known / not stated.
SEX_CODES = ("F", "M", "U")
SEX_LABEL = {"F": "Female", "M": "Male", "U": "Not known"}

#: Age bands (lower bounds inclusive). 16-64 is the ONS working-age band [5]_.
AGE_BANDS: list[tuple[str, int, int]] = [
    ("0-15", 0, 15),
    ("16-29", 16, 29),
    ("30-44", 30, 44),
    ("45-64", 45, 64),
    ("65-74", 65, 74),
    ("75+", 75, 200),
]
AGE_BAND_LABELS = [b[0] for b in AGE_BANDS]
WORKING_AGE = (16, 64)

#: Regular expressions the contract uses.
PROVIDER_CODE_PATTERN = r"^[A-Z0-9]{3,5}$"
SPECIALTY_PATTERN = r"^[0-9]{3}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
# A real Gregorian calendar date written YYYY-MM-DD (month lengths and leap years included), as
# one regular expression so it is checked vectorised rather than by strptime row by row.
CALENDAR_DATE_PATTERN = (
    r"^(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
    r"|(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)$")
INT_PATTERN = r"^\d+$"


def iso_date(value, what: str = "date") -> str:
    """``value`` as an ISO 8601 calendar date ``YYYY-MM-DD``, or ``ValueError`` naming ``what``
    (the option or config key) and the value.

    Only the ISO form is accepted, for command-line options and configs alike: ``31/03/2026``
    could be read either way round in a UK tool (``03/04/2026`` is 3 April to its users, 4 March
    to a US-default parser), so no other form is guessed. A ``datetime.date`` (what YAML makes
    of an unquoted ``2026-03-31``) is accepted as it is.
    """
    import datetime as _dt
    import re as _re

    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not _re.fullmatch(DATE_PATTERN, text):
        raise ValueError(f"{what}: {str(value)[:40]!r} is not a date in the form YYYY-MM-DD (e.g. 2026-03-31)")
    if not _re.fullmatch(CALENDAR_DATE_PATTERN, text):
        raise ValueError(f"{what}: {text!r} is not a calendar date (no such day)")
    return text

RTT_18_WEEKS = 18
RTT_52_WEEKS = 52


@dataclass(frozen=True)
class Column:
    """One column of the provider extract."""

    name: str
    required: bool
    kind: str  # "id", "code", "date", "int", "category", "bool", "text"
    description: str


#: The provider extract, one row per RTT pathway.
EXTRACT_COLUMNS: list[Column] = [
    Column("pathway_id", True, "id", "Pseudonymised pathway identifier, unique within the file."),
    Column("provider_code", True, "code", "ODS-style provider code: 3-5 upper-case letters or digits."),
    Column("specialty", True, "code", "Treatment function code (3 digits), e.g. 110."),
    Column("specialty_name", False, "text", "Treatment function name, e.g. Trauma and Orthopaedics."),
    Column("referral_date", True, "date", "Clock start (referral received), YYYY-MM-DD."),
    Column("first_appointment_date", False, "date",
           "Date the first outpatient appointment was due (attended or not); empty if none yet."),
    Column("clock_stop_date", False, "date", "Clock stop (treatment or removal); empty while waiting."),
    Column("outcome", True, "category", "waiting / treated / removed."),
    Column("dna_count", True, "int", "Number of appointments on the pathway the patient did not attend."),
    Column("sex", True, "category", "F / M / U (not known or not stated)."),
    Column("age", False, "int", "Age in whole years at referral (0-120). Give age or age_band."),
    Column("age_band", False, "category", "Age band at referral: " + ", ".join(AGE_BAND_LABELS) + "."),
    Column("ethnic_category", True, "category",
           "NHS Data Dictionary ethnic category: A-S, Z = not stated, 99 = not known."),
    Column("imd_decile", False, "int", "IMD 2019 decile of residence, 1 = most deprived; empty when unmatched."),
    Column("learning_disability", False, "bool", "PLUS-group flag: 1/0 or true/false; empty if not recorded."),
    Column("interpreter_needed", False, "bool", "PLUS-group flag: 1/0 or true/false; empty if not recorded."),
]

REQUIRED_COLUMNS = [c.name for c in EXTRACT_COLUMNS if c.required]
DATE_COLUMNS = [c.name for c in EXTRACT_COLUMNS if c.kind == "date"]
BOOL_COLUMNS = [c.name for c in EXTRACT_COLUMNS if c.kind == "bool"]
TRUE_VALUES = ("1", "true", "True", "TRUE", "Y", "y", "yes")
FALSE_VALUES = ("0", "false", "False", "FALSE", "N", "n", "no")

#: Columns of the derived pathway table (see :func:`derive`).
DERIVED_COLUMNS = [
    "wait_weeks", "first_wait_weeks", "completed", "removed", "clock_stop_month", "first_appointment_month",
    "referral_month",
    "over_18_weeks", "over_52_weeks", "any_dna", "imd_quintile", "core20", "age_band",
    "working_age", "sex_label", "sex_age", "ethnic_group", "ethnicity_recorded",
]


# --------------------------------------------------------------------------------------
# Derived fields
# --------------------------------------------------------------------------------------

def age_band(age: pd.Series) -> pd.Series:
    """Map whole years of age to the contract's age bands (categorical, ordered)."""
    bins = [b[1] for b in AGE_BANDS] + [AGE_BANDS[-1][2] + 1]
    return pd.cut(age.astype("float64"), bins=bins, right=False, labels=AGE_BAND_LABELS, ordered=True)


def imd_quintile(decile: pd.Series) -> pd.Series:
    """IMD quintile from decile: quintile 1 = deciles 1-2 (most deprived) [3]_."""
    d = pd.to_numeric(decile, errors="coerce")
    return np.ceil(d / 2).astype("Int64")


def ethnic_group(category: pd.Series) -> pd.Series:
    """Broad ethnic group from NHS Data Dictionary ethnic category [1]_."""
    cat = category.astype("string")
    return cat.map(ETHNIC_CATEGORY_GROUP).astype(pd.CategoricalDtype(ETHNIC_GROUPS))


def derive(df: pd.DataFrame, census_date: str | pd.Timestamp) -> pd.DataFrame:
    """Add every derived field to a validated, typed provider extract.

    Parameters
    ----------
    df : pandas.DataFrame
        A provider extract as returned by :func:`qi_equity.data.io.read_extract`
        (typed: dates are datetimes, ``imd_decile`` and ``dna_count`` numeric).
    census_date : str or Timestamp
        The month-end census date. Waits of pathways still open are measured to it.

    Returns
    -------
    pandas.DataFrame
        The input columns plus:

        - ``wait_weeks`` (float): weeks from referral to clock stop, or to the census
          date while waiting [2]_.
        - ``first_wait_weeks`` (float): weeks from referral to the first appointment (NaN
          without one).
        - ``completed`` (bool): the clock has stopped (treated or removed); ``removed`` (bool):
          removed from the list without treatment.
        - ``clock_stop_month``, ``first_appointment_month``, ``referral_month``
          (Timestamp, first of month; NaT where the date is empty).
        - ``over_18_weeks``, ``over_52_weeks`` (bool): wait strictly over 18 / 52 weeks.
        - ``any_dna`` (bool): at least one did-not-attend on the pathway.
        - ``imd_quintile`` (Int64, 1 = most deprived; missing when unmatched).
        - ``core20`` (string): "Core20" for IMD deciles 1-2, "Not Core20" for 3-10,
          "Unmatched" when the decile is empty [4]_.
        - ``age_band`` (ordered categorical); ``working_age`` (bool, 16-64) [5]_.
        - ``sex_label`` (Female / Male / Not known);
          ``sex_age`` ("Female 16-64", "Male 65+", ... the sex x working-age intersection).
        - ``ethnic_group`` (White, Mixed, Asian, Black, Other, Not stated, Not known);
          ``ethnicity_recorded`` (bool: category not Z or 99).
    """
    census = pd.Timestamp(census_date)
    out = df.copy()
    stop = out["clock_stop_date"]
    end = stop.where(stop.notna(), census)
    out["wait_weeks"] = (end - out["referral_date"]).dt.days / 7.0
    out["first_wait_weeks"] = (out["first_appointment_date"] - out["referral_date"]).dt.days / 7.0
    out["completed"] = out["outcome"].isin(["treated", "removed"])
    out["removed"] = out["outcome"].eq("removed")
    out["clock_stop_month"] = stop.dt.to_period("M").dt.to_timestamp()
    out["first_appointment_month"] = out["first_appointment_date"].dt.to_period("M").dt.to_timestamp()
    out["referral_month"] = out["referral_date"].dt.to_period("M").dt.to_timestamp()
    out["over_18_weeks"] = out["wait_weeks"] > RTT_18_WEEKS
    out["over_52_weeks"] = out["wait_weeks"] > RTT_52_WEEKS
    out["any_dna"] = out["dna_count"] > 0
    out["imd_quintile"] = imd_quintile(out["imd_decile"]) if "imd_decile" in out else pd.array(
        [pd.NA] * len(out), dtype="Int64")
    q = out["imd_quintile"]
    out["core20"] = np.where(q.isna(), "Unmatched", np.where(q.fillna(99) == 1, "Core20", "Not Core20"))
    if "age" in out and out["age"].notna().any():
        band = age_band(out["age"])
        if "age_band" in df:
            band = band.fillna(df["age_band"].astype(pd.CategoricalDtype(AGE_BAND_LABELS, ordered=True)))
        out["age_band"] = band
    else:
        out["age_band"] = out["age_band"].astype(pd.CategoricalDtype(AGE_BAND_LABELS, ordered=True))
    lo, hi = WORKING_AGE
    working_bands = [b for b, a, z in AGE_BANDS if a >= lo and z <= hi]
    out["working_age"] = out["age_band"].isin(working_bands)
    out["sex_label"] = out["sex"].map(SEX_LABEL)
    age_part = np.where(out["working_age"], "16-64",
                        np.where(out["age_band"].astype(str) == "0-15", "0-15", "65+"))
    out["sex_age"] = out["sex_label"].astype(str) + " " + age_part
    out["ethnic_group"] = ethnic_group(out["ethnic_category"])
    out["ethnicity_recorded"] = ~out["ethnic_category"].isin(ETHNICITY_UNRECORDED)
    return out


# --------------------------------------------------------------------------------------
# Equity dimensions
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dimension:
    """An equity dimension: a derived column, the order of its groups and its reference.

    ``kind`` says how each pathway's group is read: ``column`` (a derived column), ``flag``
    (a PLUS-group flag column read as Yes / No / Not recorded) or ``intersection`` (the groups
    of ``parts`` joined with ", ", e.g. "Female 16-64, Core20"). ``unrecorded`` lists the groups
    that mean "not recorded": they are a data-quality measure, never a comparison group.
    """

    name: str
    column: str
    label: str
    groups: tuple[str, ...]
    reference: str
    kind: str = "column"
    parts: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()


#: Groups of a PLUS-group flag (learning disability, interpreter needed, or a local flag).
FLAG_GROUPS = ("Yes", "No", "Not recorded")
_UNRECORDED = ("Not known", "Not stated", "Unmatched", "Not recorded",
               "Not known 0-15", "Not known 16-64", "Not known 65+")


def flag_dimension(column: str, label: str | None = None) -> Dimension:
    """An equity dimension for a PLUS-group flag column (NHS England Core20PLUS5: PLUS groups
    are chosen locally [4]_): groups Yes / No / Not recorded, reference No."""
    if not column or not str(column).replace("_", "").isalnum():
        raise ValueError(f"a PLUS flag must be a column name of letters, digits and '_', not {column!r}")
    return Dimension(column, column, label or column.replace("_", " ").capitalize(), FLAG_GROUPS, "No",
                     kind="flag", unrecorded=("Not recorded",))


def _intersection(name: str, label: str, a: Dimension, b: Dimension, reference: str) -> Dimension:
    groups = tuple(f"{x}, {y}" for x in a.groups for y in b.groups)
    unrec = tuple(g for g in groups if any(part in _UNRECORDED for part in g.split(", ")))
    return Dimension(name, name, label, groups, reference, kind="intersection", parts=(a.name, b.name),
                     unrecorded=unrec)


DIMENSIONS: dict[str, Dimension] = {
    "all": Dimension("all", "_all", "All patients", ("All",), "All"),
    "sex": Dimension("sex", "sex_label", "Sex", ("Female", "Male", "Not known"), "Male", unrecorded=("Not known",)),
    "age_band": Dimension("age_band", "age_band", "Age band", tuple(AGE_BAND_LABELS), "45-64"),
    "sex_age": Dimension("sex_age", "sex_age", "Sex x working age",
                         ("Female 0-15", "Male 0-15", "Female 16-64", "Male 16-64",
                          "Female 65+", "Male 65+", "Not known 0-15", "Not known 16-64",
                          "Not known 65+"), "Male 16-64",
                         unrecorded=("Not known 0-15", "Not known 16-64", "Not known 65+")),
    "ethnic_group": Dimension("ethnic_group", "ethnic_group", "Ethnic group", tuple(ETHNIC_GROUPS), "White",
                              unrecorded=("Not stated", "Not known")),
    "imd_quintile": Dimension("imd_quintile", "imd_quintile_label", "IMD quintile",
                              ("Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived", "Unmatched"),
                              "Q5 least deprived", unrecorded=("Unmatched",)),
    "core20": Dimension("core20", "core20", "Core20", ("Core20", "Not Core20", "Unmatched"), "Not Core20",
                        unrecorded=("Unmatched",)),
    "learning_disability": flag_dimension("learning_disability", "Learning disability"),
    "interpreter_needed": flag_dimension("interpreter_needed", "Interpreter needed"),
}
DIMENSIONS["sex_age_core20"] = _intersection("sex_age_core20", "Sex x working age x Core20", DIMENSIONS["sex_age"],
                                             DIMENSIONS["core20"], "Male 16-64, Not Core20")
DIMENSIONS["ethnic_core20"] = _intersection("ethnic_core20", "Ethnic group x Core20", DIMENSIONS["ethnic_group"],
                                            DIMENSIONS["core20"], "White, Not Core20")

_QUINTILE_LABEL = {1: "Q1 most deprived", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Q5 least deprived"}


def get_dimension(name: str, flags: dict | None = None) -> Dimension:
    """The dimension called ``name``: one of :data:`DIMENSIONS`, or a local PLUS flag declared
    in ``flags`` (``{column: label}``, e.g. from a collaborative's ``plus_flags``).

    Raises
    ------
    ValueError
        An unknown dimension, naming the ones there are.
    """
    if name in DIMENSIONS:
        return DIMENSIONS[name]
    if flags and name in flags:
        return flag_dimension(name, flags[name])
    known = sorted(DIMENSIONS) + sorted(flags or {})
    raise ValueError(f"unknown equity dimension {name!r}; the kit knows {known} (declare a local PLUS flag "
                     "column under plus_flags in the collaborative file)")


def flag_values(values: pd.Series) -> pd.Series:
    """Yes / No / Not recorded from a flag column (nullable booleans, or text as the contract
    writes it: 1/0, true/false, Y/N).

    Booleans are read as their text ("True", "False", missing), which the contract's words
    include, so both kinds go one way. ``isin`` is False at a missing value, never missing."""
    s = values.astype("string").str.strip()
    out = pd.Series("Not recorded", index=values.index, dtype="string")
    out[s.isin(TRUE_VALUES).to_numpy()] = "Yes"
    out[s.isin(FALSE_VALUES).to_numpy()] = "No"
    return out


def dimension_values(derived: pd.DataFrame, dimension: str | Dimension, flags: dict | None = None) -> pd.Series:
    """The group label of each pathway on one equity dimension (as strings).

    Raises
    ------
    ValueError
        The dimension is unknown, or its column is not in the extract (naming the column).
    """
    dim = dimension if isinstance(dimension, Dimension) else get_dimension(dimension, flags)
    if dim.name == "all":
        return pd.Series("All", index=derived.index, dtype="string")
    if dim.name == "imd_quintile":
        q = derived["imd_quintile"]
        return q.map(_QUINTILE_LABEL).fillna("Unmatched").astype("string")
    if dim.kind == "intersection":
        a, b = (dimension_values(derived, p, flags) for p in dim.parts)
        return (a + ", " + b).astype("string")
    if dim.column not in derived.columns:
        raise ValueError(f"equity dimension {dim.name!r} needs the column '{dim.column}', which the extract "
                         f"does not have (columns: {', '.join(map(str, derived.columns[:20]))}"
                         f"{' ...' if len(derived.columns) > 20 else ''})")
    if dim.kind == "flag":
        return flag_values(derived[dim.column])
    return derived[dim.column].astype("string").fillna("Not known")
