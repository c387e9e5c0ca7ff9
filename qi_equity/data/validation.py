"""Validation of provider extracts against the data contract, with great-expectations.

Every rule of :mod:`qi_equity.data.contract` is one great-expectations expectation, run in
an in-process *ephemeral* context with progress bars and usage statistics off.
great-expectations is imported only when :func:`validate_extract` runs (it costs a few
seconds to import), so the rest of the library stays quick to load.

A failure names the column, the rule, how many rows fail (and what share) and a few
sample values. Nothing is dropped: a file either passes, or the caller gets the full
report of what fails.
"""

from __future__ import annotations

import datetime

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qi_equity.data import contract as C

N_SAMPLES = 5


@dataclass
class Failure:
    """One contract rule that some rows (or the file) fail."""

    column: str
    rule: str
    failing_rows: int
    total_rows: int
    sample_values: list[Any] = field(default_factory=list)
    expectation: str = ""

    @property
    def share(self) -> float:
        return self.failing_rows / self.total_rows if self.total_rows else 1.0

    def format(self, public: bool = False) -> str:
        """One line: the column, the rule and how many rows fail -- with sample values, unless
        ``public`` (what a published report says: never a raw cell value)."""
        if self.failing_rows < 0:  # whole-file rule (a missing column)
            return f"  - {self.column}: {self.rule}"
        line = (f"  - {self.column}: {self.rule} -- {self.failing_rows:,} of {self.total_rows:,} rows "
                f"({self.share:.1%}) fail")
        if public:
            return line
        samples = ", ".join(repr(v) for v in self.sample_values[:N_SAMPLES])
        return f"{line}; e.g. {samples}"


@dataclass
class ValidationReport:
    """The outcome of validating one file against the contract."""

    source: str
    n_rows: int
    failures: list[Failure]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_frame(self) -> pd.DataFrame:
        """One row per failing rule: ``column, rule, failing_rows, total_rows, share, sample_values, expectation``."""
        return pd.DataFrame(
            [{"column": f.column, "rule": f.rule, "failing_rows": f.failing_rows,
              "total_rows": f.total_rows, "share": f.share if f.failing_rows >= 0 else float("nan"),
              "sample_values": ", ".join(map(repr, f.sample_values[:N_SAMPLES])),
              "expectation": f.expectation} for f in self.failures],
            columns=["column", "rule", "failing_rows", "total_rows", "share", "sample_values", "expectation"])

    def format(self, public: bool = False) -> str:
        """The report as text. ``public=True`` is what published files say: the file's name only
        (no folder), and for each rule the column and the count of failing rows, no values."""
        source = os.path.basename(str(self.source)) if public else self.source
        if self.ok:
            return f"{source}: {self.n_rows:,} rows meet the data contract."
        lines = [f"{source}: {len(self.failures)} contract rule(s) fail ({self.n_rows:,} rows read, none dropped):"]
        lines += [f.format(public) for f in self.failures]
        return "\n".join(lines)


class ContractError(ValueError):
    """Raised when a file does not meet the data contract; carries the full report."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.format())


def _gx():
    """great-expectations, imported on first use.

    jsonschema (which great-expectations imports) loads the optional ``rfc3987-syntax`` package
    when it is installed (jupyter-events' format extra installs it) to check the "iri" string
    format, and that package builds its grammar at import: 2-4 s, about half of this import.
    Nothing the kit validates is an IRI, so when jsonschema is not loaded yet, that optional
    import is skipped for this one import (jsonschema then simply has no "iri" checker) and
    the package stays importable afterwards.
    """
    import sys

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    block = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if block:
        sys.modules["rfc3987_syntax"] = None  # makes `import rfc3987_syntax` raise ImportError
    try:
        import great_expectations as gx  # noqa: PLC0415  (deliberately lazy: a slow import)
    finally:
        if block and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return gx


def _context(gx):
    ctx = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception:  # pragma: no cover - older/newer GX without this config
        pass
    return ctx


def _rules(gx, columns: set[str], census: pd.Timestamp | None) -> list[tuple[str, str, str, Any]]:
    """(frame, column, rule text, expectation) for every contract rule that applies.

    ``frame`` is "raw" (string values as read) or "typed" (dates parsed; the expectation
    reads the typed copy ``TYPED + column``), so that format rules see what the user wrote
    and cross-column rules compare real dates.
    """
    E = gx.expectations

    r: list[tuple[str, str, str, Any]] = []

    for name in C.REQUIRED_COLUMNS:
        r.append(("raw", name, "required column is missing", E.ExpectColumnToExist(column=name)))
    if "age" not in columns and "age_band" not in columns:
        r.append(("raw", "age", "age or age_band must be present", E.ExpectColumnToExist(column="age")))

    def has(c):
        return c in columns

    for name in ("pathway_id", "provider_code", "specialty", "referral_date", "outcome", "dna_count",
                 "sex", "ethnic_category"):
        if has(name):
            r.append(("raw", name, "must not be empty", E.ExpectColumnValuesToNotBeNull(column=name)))
    if has("pathway_id"):
        r.append(("raw", "pathway_id", "must be unique", E.ExpectColumnValuesToBeUnique(column="pathway_id")))
    if has("provider_code"):
        r.append(("raw", "provider_code", "must be an ODS-style code (3-5 upper-case letters/digits)",
                  E.ExpectColumnValuesToMatchRegex(column="provider_code", regex=C.PROVIDER_CODE_PATTERN)))
    if has("specialty"):
        r.append(("raw", "specialty", "must be a 3-digit treatment function code",
                  E.ExpectColumnValuesToMatchRegex(column="specialty", regex=C.SPECIALTY_PATTERN)))
    for name in C.DATE_COLUMNS:
        if has(name):
            r.append(("raw", name, "must be a date YYYY-MM-DD",
                      E.ExpectColumnValuesToMatchRegex(column=name, regex=C.CALENDAR_DATE_PATTERN)))
    if has("outcome"):
        r.append(("raw", "outcome", "must be one of " + " / ".join(C.OUTCOMES),
                  E.ExpectColumnValuesToBeInSet(column="outcome", value_set=list(C.OUTCOMES))))
    if has("dna_count"):
        r.append(("raw", "dna_count", "must be a whole number >= 0",
                  E.ExpectColumnValuesToMatchRegex(column="dna_count", regex=C.INT_PATTERN)))
    if has("sex"):
        r.append(("raw", "sex", "must be one of " + " / ".join(C.SEX_CODES),
                  E.ExpectColumnValuesToBeInSet(column="sex", value_set=list(C.SEX_CODES))))
    if has("age") and not has("age_band"):
        r.append(("raw", "age", "must not be empty", E.ExpectColumnValuesToNotBeNull(column="age")))
    if has("age_band") and not has("age"):
        r.append(("raw", "age_band", "must not be empty", E.ExpectColumnValuesToNotBeNull(column="age_band")))
    if has("age"):
        r.append(("raw", "age", "must be a whole number of years",
                  E.ExpectColumnValuesToMatchRegex(column="age", regex=C.INT_PATTERN)))
        r.append(("typed", "age", "must be between 0 and 120",
                  E.ExpectColumnValuesToBeNull(column=OUT_OF_RANGE + "age")))
    if has("age_band"):
        r.append(("raw", "age_band", "must be one of " + ", ".join(C.AGE_BAND_LABELS),
                  E.ExpectColumnValuesToBeInSet(column="age_band", value_set=C.AGE_BAND_LABELS)))
    if has("ethnic_category"):
        r.append(("raw", "ethnic_category", "must be an NHS Data Dictionary ethnic category (A-S, Z, 99)",
                  E.ExpectColumnValuesToBeInSet(column="ethnic_category", value_set=list(C.ETHNIC_CATEGORY_GROUP))))
    if has("imd_decile"):
        r.append(("raw", "imd_decile", "must be an IMD decile 1-10 (empty when unmatched)",
                  E.ExpectColumnValuesToBeInSet(column="imd_decile", value_set=[str(i) for i in range(1, 11)])))
    for name in C.BOOL_COLUMNS:
        if has(name):
            r.append(("raw", name, "must be a yes/no flag (1/0, true/false, Y/N)",
                      E.ExpectColumnValuesToBeInSet(column=name, value_set=list(C.TRUE_VALUES + C.FALSE_VALUES))))
    # Cross-column rules on parsed dates.
    if has("referral_date") and has("clock_stop_date"):
        r.append(("typed", "clock_stop_date", "must not be before referral_date",
                  E.ExpectColumnPairValuesAToBeGreaterThanB(
                      column_A=TYPED + "clock_stop_date", column_B=TYPED + "referral_date", or_equal=True,
                      ignore_row_if="either_value_is_missing")))
    if has("referral_date") and has("first_appointment_date"):
        r.append(("typed", "first_appointment_date", "must not be before referral_date",
                  E.ExpectColumnPairValuesAToBeGreaterThanB(
                      column_A=TYPED + "first_appointment_date", column_B=TYPED + "referral_date", or_equal=True,
                      ignore_row_if="either_value_is_missing")))
    if has("outcome") and has("clock_stop_date"):
        # conditional rules on two helper columns of the typed frame (see _typed_for_rules) rather
        # than great-expectations row conditions, which re-parse the condition for every metric
        r.append(("typed", "clock_stop_date", "must be empty while outcome is waiting",
                  E.ExpectColumnValuesToBeNull(column=STOP_WHILE_WAITING)))
        r.append(("typed", "clock_stop_date", "must be given when outcome is treated or removed",
                  E.ExpectColumnValuesToNotBeNull(column=STOP_WHEN_ENDED)))
    if census is not None:
        for name in ("referral_date", "clock_stop_date", "first_appointment_date"):
            if has(name):
                r.append(("typed", name, f"must not be after the census date {census.date()}",
                          E.ExpectColumnValuesToBeNull(column=OUT_OF_RANGE + name)))
    return r


TYPED = "_typed_"  # prefix of the typed copies of columns in the frame that is validated
OUT_OF_RANGE = "_out_of_range_"  # prefix of helper columns: the value where it is out of range, else missing
AGE_RANGE = (0, 120)
STOP_WHILE_WAITING = "_clock_stop_date_while_waiting"
STOP_WHEN_ENDED = "_clock_stop_date_when_treated_or_removed"


def _frame_for_rules(raw: pd.DataFrame, census: pd.Timestamp | None = None) -> pd.DataFrame:
    """The one frame every rule is checked on: the columns as read (objects; missing is None),
    typed copies (``TYPED + name``) of the dates and age, and helper columns for the
    outcome-dependent clock-stop rules and the range rules (age 0-120, dates on or before the
    census date: ``OUT_OF_RANGE + name`` holds the value where it is out of range, so an
    "expect null" rule reports exactly those values; GX's own between-rule tests each value in
    Python). One frame means one great-expectations batch (GX fingerprints every batch it is
    given, a hash of the whole frame)."""
    cols = {name: raw[name].astype(object).where(raw[name].notna(), None) for name in raw.columns}
    for name in raw.columns:
        if name in C.DATE_COLUMNS:
            cols[TYPED + name] = pd.to_datetime(raw[name], format="%Y-%m-%d", errors="coerce")
        elif name == "age":
            cols[TYPED + name] = age = pd.to_numeric(raw[name], errors="coerce")
            cols[OUT_OF_RANGE + name] = age.where((age < AGE_RANGE[0]) | (age > AGE_RANGE[1]))
    if census is not None:
        for name in C.DATE_COLUMNS:
            if name in raw.columns:
                d = cols[TYPED + name]
                cols[OUT_OF_RANGE + name] = d.where(d > census)
    if "outcome" in raw.columns and "clock_stop_date" in raw.columns:
        # the clock-stop date where it must be empty (waiting), and where it must be given
        # (any other outcome; waiting rows get a placeholder so they pass)
        waiting = (raw["outcome"] == "waiting").fillna(False).to_numpy(bool)
        stop = cols[TYPED + "clock_stop_date"]
        cols[STOP_WHILE_WAITING] = stop.where(waiting)
        cols[STOP_WHEN_ENDED] = stop.where(~waiting, pd.Timestamp("1900-01-01"))
    return pd.DataFrame(cols, index=raw.index)


_PLANS: dict = {}


def _plan(columns: frozenset, census: pd.Timestamp | None) -> dict:
    """The expectation suite for this set of columns and census date, built once per process.

    Building a suite costs more than running it on a provider's extract, and every extract of a
    collaborative has the same columns and census date, so the context, data assets and suites
    are kept and reused (each validation gets its own batch of the new data).
    """
    key = (columns, census)
    if key in _PLANS:
        return _PLANS[key]
    gx = _gx()
    ctx = _context(gx)
    rules = _rules(gx, set(columns), census)
    ds = ctx.data_sources.add_pandas("qi_equity")
    asset = ds.add_dataframe_asset("extract")
    suite = ctx.suites.add(gx.ExpectationSuite("contract"))
    exps = [(col, rule, e) for _, col, rule, e in rules]
    for _, _, e in exps:
        suite.add_expectation(e)
    plan = (asset.add_batch_definition_whole_dataframe("whole"), suite, exps)
    if len(_PLANS) > 16:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def prepare_suite(path, census_date=None) -> None:
    """Import great-expectations and build the contract suite for the extract at ``path``
    (its columns read from the header only) and ``census_date``, ahead of validating: a
    process that forks workers does this once, and every worker inherits it."""
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        columns = pq.read_schema(path).names
    else:
        columns = list(pd.read_csv(path, nrows=0, dtype="string").columns)
    _plan(frozenset(columns), pd.Timestamp(census_date) if census_date is not None else None)


def provider_code_failures(raw: pd.DataFrame, expected: str | None = None, one_provider: bool = True) -> list[Failure]:
    """File-level rules on ``provider_code`` that great-expectations' row rules cannot state.

    - ``one_provider``: a provider's extract holds one provider's code. Several codes fail, the
      rule naming each code with its row count (most rows first); the failing rows are those
      not under the most common code. A national extract (several providers by design) passes
      ``one_provider=False``.
    - ``expected``: the code the collaborative's config gives for this extract; rows under any
      other code fail, the rule naming both.

    Only codes that match the contract's pattern are named (a malformed code fails its own rule).
    """
    if "provider_code" not in raw.columns or not len(raw):
        return []
    counts = raw["provider_code"].dropna().value_counts()
    named = sorted(((str(c), int(k)) for c, k in counts.items() if re.fullmatch(C.PROVIDER_CODE_PATTERN, str(c))),
                   key=lambda ck: (-ck[1], ck[0]))  # most rows first, then by code
    listing = ", ".join(f"{c} ({k:,} rows)" for c, k in named[:6]) + (", ..." if len(named) > 6 else "")
    out = []
    if one_provider and len(counts) > 1:
        out.append(Failure("provider_code", f"must hold one provider's code; the file holds {len(counts)}: {listing}",
                           int(counts.iloc[1:].sum()), len(raw), [c for c, _ in named[:N_SAMPLES]],
                           "one_provider_per_extract"))
    if expected is not None:
        other = raw["provider_code"].notna() & (raw["provider_code"] != expected)
        if other.any():
            found = ", ".join(c for c, _ in named if c != expected) or "other codes"
            out.append(Failure("provider_code", f"is {found} in the file, but the config gives {expected} for it",
                               int(other.sum()), len(raw), [c for c, _ in named if c != expected][:N_SAMPLES],
                               "provider_code_matches_config"))
    return out


def validate_extract(raw: pd.DataFrame, census_date=None, source: str = "extract",
                     provider_code: str | None = None, one_provider: bool = False) -> ValidationReport:
    """Check a provider extract (as read, string-valued) against every contract rule.

    Parameters
    ----------
    raw : pandas.DataFrame
        The extract as read by :func:`qi_equity.data.io.read_raw` (every value a string
        or missing).
    census_date : str or Timestamp, optional
        When given, dates after it fail.
    source : str
        A name for the file, used in the report.
    provider_code : str, optional
        The code the config gives for this extract: rows under another code fail, and so does
        a file holding several codes (see :func:`provider_code_failures`).
    one_provider : bool
        Fail a file holding several providers' codes even without ``provider_code``.

    Returns
    -------
    ValidationReport
        ``.ok`` is True when every rule holds; ``.failures`` lists the column, the rule,
        the number and share of failing rows and sample values; ``.format()`` prints it.
    """
    census = pd.Timestamp(census_date) if census_date is not None else None
    if not len(raw):  # a header-only file: nothing to check row by row
        return ValidationReport(source=source, n_rows=0, failures=[
            Failure("(file)", "no data rows: the file has a header but no rows", -1, 0, [], "table_row_count")])
    plan = _plan(frozenset(raw.columns), census)
    failures: list[Failure] = []
    n = len(raw)
    batch_definition, suite, exps = plan
    batch = batch_definition.get_batch(batch_parameters={"dataframe": _frame_for_rules(raw, census)})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY"})
    by_id = {r.expectation_config.id: r for r in result.results}
    for col, rule, e in exps:
        res = by_id[e.id]
        if res.success:
            continue
        out = res.result or {}
        if "unexpected_count" not in out:  # table-level rule, e.g. a missing column
            if e.expectation_type == "expect_column_to_exist" or not set(raw.columns) >= {col}:
                failures.append(Failure(col, rule, -1, n, [], e.expectation_type))
                continue
            msg = (res.exception_info or {}).get("exception_message") or "could not be checked"
            failures.append(Failure(col, f"{rule} ({msg})", n, n, [], e.expectation_type))
            continue
        samples = list(dict.fromkeys(_clean(v) for v in (out.get("partial_unexpected_list") or [])))[:N_SAMPLES]  # distinct
        failures.append(Failure(col, rule, int(out["unexpected_count"]), n, samples, e.expectation_type))
    failures += provider_code_failures(raw, provider_code, one_provider or provider_code is not None)
    order = {c.name: i for i, c in enumerate(C.EXTRACT_COLUMNS)}
    failures.sort(key=lambda f: (f.failing_rows >= 0, order.get(f.column, 99)))
    return ValidationReport(source=source, n_rows=n, failures=failures)


def _clean(v):
    if isinstance(v, tuple):
        return tuple(_clean(x) for x in v)
    if isinstance(v, (pd.Timestamp, datetime.datetime, np.datetime64)):
        return str(pd.Timestamp(v).date())
    if hasattr(v, "item"):
        return v.item()
    return v


def row_rules(df: pd.DataFrame, failures: list[Failure], prefix: str = ""):
    """A recorder for pandas-checked row rules: ``add(column, rule, bad_mask)`` appends a
    :class:`Failure` naming the column, the rule, the number of failing rows and samples.
    Used by the lens tools' contracts (small tables, checked without great-expectations)."""
    def add(column: str, rule: str, bad, frame: pd.DataFrame | None = None):
        t = df if frame is None else frame
        bad = pd.Series(bad, index=t.index).fillna(False).astype(bool)
        if bad.any():
            failures.append(Failure(f"{prefix}{column}", rule, int(bad.sum()), len(t),
                                    t.loc[bad, column].head(N_SAMPLES).tolist() if column in t else []))
    return add


def missing_columns(df: pd.DataFrame, columns, source: str) -> ValidationReport | None:
    """A report naming every required column ``df`` lacks (None when it has them all): the first
    check of every lens file's contract, before its row rules run."""
    missing = [c for c in columns if c not in df.columns]
    if not missing:
        return None
    return ValidationReport(source, len(df), [Failure(c, "required column is missing", -1, len(df)) for c in missing])


def blank(values: pd.Series) -> pd.Series:
    """True where a cell is missing or only spaces (the "must not be empty" rules)."""
    return values.isna() | (values.astype(str).str.strip() == "")


def raise_if_invalid(report: ValidationReport):
    """Raise :class:`ContractError` carrying the report when any rule fails."""
    if not report.ok:
        raise ContractError(report)
