"""Core20PLUS5's clinical areas as data, and the treatment functions that stand for them.

Core20PLUS5 (NHS England) names a target population -- the **Core20** (the most deprived 20%
nationally, IMD deciles 1-2) **PLUS** groups each system chooses -- and **5** clinical areas for
adults [1]_ and 5 for children and young people [2]_. The areas, their cohorts and a one-line
focus for each (the kit's paraphrase of NHS England's aims) are in ``core20plus5.yaml`` with their
sources. A pathway extract knows a pathway's treatment function, not its condition, so an area
is present in an extract through the treatment functions that serve it: the editable mapping
``core20plus5_mapping.csv`` lists them (NHS Data Dictionary treatment function codes and titles
[3]_). A collaborative may give its own mapping file (same three columns) to add or move codes.

Contract of a mapping file (CSV, one row per treatment function):

===========================  =====================================================
``treatment_function_code``  three digits, each code in one row only
``treatment_function_name``  its title (text, not empty)
``area_id``                  one of the areas' ids in ``core20plus5.yaml``
===========================  =====================================================

A treatment function belongs to at most one area, so an area's counts are exactly the sum of
its treatment functions' counts -- the relation the disclosure check declares
(:mod:`qi_equity.publication.cells`). The paediatric treatment functions are for children only
by definition [3]_, so the mapping needs no age rule.

Limits, said where the reports show the areas: secondary-care waiting lists hold only part of
each area (hypertension case-finding and SMI health checks happen mostly in primary care; early
cancer diagnosis runs through site-specific urgent suspected-cancer pathways that a treatment
function does not identify), so an area here is "the pathways of the services that treat it".

References
----------
.. [1] NHS England (2021). *Core20PLUS5 - an approach to reducing healthcare inequalities*.
       https://www.england.nhs.uk/about/equality/equality-hub/national-healthcare-inequalities-improvement-programme/core20plus5/
.. [2] NHS England (2023). *Core20PLUS5 - an approach to reducing health inequalities for
       children and young people*.
       https://www.england.nhs.uk/about/equality/equality-hub/national-healthcare-inequalities-improvement-programme/core20plus5/core20plus5-cyp/
.. [3] NHS Digital. *NHS Data Dictionary: Treatment Function Code* (main specialty and treatment
       function codes table; paediatric codes are for services designed for children only).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from qi_equity.data.contract import SPECIALTY_PATTERN
from qi_equity.data.validation import (Failure, ValidationReport, blank, missing_columns, raise_if_invalid,
                                       row_rules)

AREAS_FILE = Path(__file__).with_name("core20plus5.yaml")
MAPPING_FILE = Path(__file__).with_name("core20plus5_mapping.csv")
MAPPING_COLUMNS = ["treatment_function_code", "treatment_function_name", "area_id"]
#: Prefix of an area's specialty key in published cells: ``c20p5:<area_id>:<code>+<code>``.
PREFIX = "c20p5:"


@lru_cache(maxsize=1)
def _spec() -> dict:
    return yaml.safe_load(AREAS_FILE.read_text(encoding="utf-8"))


def areas() -> pd.DataFrame:
    """The ten clinical areas.

    Returns
    -------
    pandas.DataFrame
        One row per area, in NHS England's order (adults first): ``area_id, cohort`` (``adults`` /
        ``children_and_young_people``), ``cohort_label``, ``name``, ``focus`` (one line),
        ``source_title``, ``source_url``, ``source_published``.
    """
    s = _spec()
    rows = []
    for a in s["areas"]:
        src = s["sources"][a["cohort"]]
        rows.append({"area_id": a["id"], "cohort": a["cohort"], "cohort_label": s["cohorts"][a["cohort"]],
                     "name": a["name"], "focus": a["focus"], "source_title": src["title"],
                     "source_url": src["url"], "source_published": str(src["published"])})
    return pd.DataFrame(rows)


def validate_mapping(df: pd.DataFrame, source: str = "Core20PLUS5 mapping") -> ValidationReport:
    """Check a treatment function -> area mapping (see the module docstring): every failure names
    the column, the rule and how many rows fail."""
    if (report := missing_columns(df, MAPPING_COLUMNS, source)) is not None:
        return report
    f: list[Failure] = []
    add = row_rules(df, f)
    empty = {c: blank(df[c]) for c in MAPPING_COLUMNS}
    for c in MAPPING_COLUMNS:
        add(c, "must not be empty", empty[c])
    code = df["treatment_function_code"].astype(str).str.strip()
    add("treatment_function_code", "must be a three-digit treatment function code (e.g. 340)",
        ~empty["treatment_function_code"] & ~code.str.match(SPECIALTY_PATTERN))
    add("treatment_function_code", "must appear once (a treatment function belongs to one area)",
        ~empty["treatment_function_code"] & code.duplicated(keep=False))
    known = set(areas()["area_id"])
    add("area_id", "must be one of " + ", ".join(sorted(known)),
        ~empty["area_id"] & ~df["area_id"].astype(str).str.strip().isin(known))
    return ValidationReport(source, len(df), f)


def load_mapping(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a mapping (default: the kit's ``core20plus5_mapping.csv``). Raises
    ``ValueError`` for a missing file and :class:`~qi_equity.data.validation.ContractError` naming
    the file, column, rule and rows for a bad one.

    Returns
    -------
    pandas.DataFrame
        ``treatment_function_code, treatment_function_name, area_id`` (strings, stripped).
    """
    p = Path(path) if path else MAPPING_FILE
    if not p.is_file():
        raise ValueError(f"Core20PLUS5 mapping {p}: no such file")
    df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    raise_if_invalid(validate_mapping(df, str(p)))
    return df[MAPPING_COLUMNS].apply(lambda s: s.str.strip()).reset_index(drop=True)


def area_key(area_id: str, codes) -> str:
    """The specialty key of an area's cells: ``c20p5:<area_id>:<code>+<code>`` (codes sorted). The
    key carries its treatment functions, so anyone reading the published cells back (the audit)
    knows the area is their sum."""
    return f"{PREFIX}{area_id}:{'+'.join(sorted(codes))}"


def parse_area_key(specialty: str) -> tuple[str, list[str]] | None:
    """``(area_id, codes)`` of an area key; None for any other specialty."""
    s = str(specialty)
    if not s.startswith(PREFIX):
        return None
    area_id, _, codes = s[len(PREFIX):].partition(":")
    return area_id, [c for c in codes.split("+") if c]


def areas_present(specialty: pd.Series, mapping: pd.DataFrame | None = None) -> pd.DataFrame:
    """The areas an extract holds pathways of.

    Parameters
    ----------
    specialty : the extract's ``specialty`` column (treatment function codes).
    mapping : :func:`load_mapping` output (default: the kit's).

    Returns
    -------
    pandas.DataFrame
        One row per area present, in :func:`areas` order: the :func:`areas` columns plus
        ``codes`` (the area's treatment functions present, sorted), ``code_names`` (``"340
        Respiratory Medicine; ..."``), ``pathways`` (rows of the extract; full data, not for
        publication) and ``key`` (:func:`area_key`).
    """
    m = load_mapping() if mapping is None else mapping
    counts = specialty.astype(str).value_counts()
    present = m[m["treatment_function_code"].isin(counts.index)]
    rows = []
    for a in areas().itertuples(index=False):
        sub = present[present["area_id"] == a.area_id].sort_values("treatment_function_code")
        if not len(sub):
            continue
        codes = sub["treatment_function_code"].tolist()
        rows.append(a._asdict() | {
            "codes": codes,
            "code_names": "; ".join(f"{c} {n}" for c, n in zip(codes, sub["treatment_function_name"])),
            "pathways": int(counts.reindex(codes).sum()), "key": area_key(a.area_id, codes)})
    cols = list(areas().columns) + ["codes", "code_names", "pathways", "key"]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["areas", "load_mapping", "validate_mapping", "areas_present", "area_key", "parse_area_key",
           "MAPPING_FILE", "AREAS_FILE"]
