"""Findings: where a provider's inequities are, found by scanning -- and quiet where there are none.

``find(derived, census_date)`` scans every equity dimension (sex, age band, sex x working age,
ethnic group, IMD quintile / Core20, every PLUS flag, and the intersections sex x working age x
Core20 and ethnic group x Core20), all specialties pooled and each specialty with enough
volume, and every flow measure, then returns the findings as a tidy DataFrame. Nothing is
asked of the caller about where to look. ``scan(...)`` returns the full
:class:`~qi_equity.findings.build.FindingsResult` (findings, every test, the series to chart).

This floor uses the statistics and the lenses; the reports use it; nothing below imports it.
See ``docs/findings.md`` for every kind, the tests, the false-discovery control, the time-grain
rule and the collaborative funnels.
"""

from __future__ import annotations

import pandas as pd

from qi_equity.findings import cells as _cells
from qi_equity.findings import scan as _scan
from qi_equity.findings.build import FINDING_COLUMNS, FindingsResult, assemble, data_quality_tests, seldom_heard_tests
from qi_equity.findings.scan import Settings

KINDS = ("gap_now", "gap_changing", "improvement", "group_changing", "stage", "collaborative_outlier",
         "data_quality", "seldom_heard", "too_few")


def scan(derived: pd.DataFrame | None = None, census_date=None, *, aggregate: pd.DataFrame | None = None,
         engagement: dict | None = None, population: pd.DataFrame | None = None, flags: dict | None = None,
         settings: Settings | None = None, months: int = 36, window_months: int = 12) -> FindingsResult:
    """Scan one provider and return its findings with everything behind them.

    Parameters
    ----------
    derived : pandas.DataFrame, optional
        The provider's pathways with derived fields (:func:`qi_equity.data.contract.derive`).
    census_date : date
        The month-end census: the history is the ``months`` months ending with it and "now" the
        last ``window_months``.
    aggregate : pandas.DataFrame, optional
        Instead of pathways, the provider's aggregate form (``qi_equity.measures.monthly_measures``
        with the scan's dimensions and ``by_specialty=True``): pooled medians are then
        approximated, and data quality and pathway stages cannot be scanned (see
        :func:`qi_equity.findings.cells.from_aggregate`).
    engagement, population : optional
        The provider's engagement log (:func:`qi_equity.psychology.load_engagement`) and catchment
        population: adds the seldom-heard tests.
    flags : dict, optional
        Local PLUS-group flag columns to scan as dimensions, ``{column: label}``.
    settings : Settings, optional
        Thresholds (minimum important gap, FDR level and method, minimum sizes, grains).

    Returns
    -------
    FindingsResult
        ``.data`` (findings), ``.tests``, ``.cells``, ``.summary``, ``.headlines()``, ``.plot(id)``.
    """
    settings = settings or Settings()
    if census_date is None:
        raise ValueError("census_date is required (YYYY-MM-DD)")
    if derived is None and aggregate is None:
        raise ValueError("give the provider's derived pathways or its aggregate form")
    if derived is not None:
        if not len(derived):
            raise ValueError("the extract has no pathways to scan")
        codes = derived["provider_code"].astype(str).unique()
        if len(codes) > 1:
            raise ValueError(f"the extract holds {len(codes)} provider codes ({', '.join(sorted(codes)[:5])}): "
                             "scan one provider at a time")
        data = _cells.build(derived, census_date, months, window_months, flags=flags)
    else:
        data = _cells.from_aggregate(aggregate, census_date, months, window_months)
    tests = _scan.run(data, settings)
    dq = None
    if derived is not None:
        plus = [d for d in data.dimensions if data.dimensions[d].kind == "flag"]
        dq = data_quality_tests(derived, plus, settings.extra.get("standards"))
    seldom = seldom_heard_tests(engagement, population) if engagement is not None and population is not None else None
    return assemble(data, tests, settings, derived=derived, dq=dq, seldom=seldom, flags=flags)


def find(derived: pd.DataFrame | None = None, census_date=None, **kw) -> pd.DataFrame:
    """The findings of :func:`scan` as a tidy DataFrame (``FINDING_COLUMNS``), strongest first."""
    return scan(derived, census_date, **kw).data


__all__ = ["find", "scan", "Settings", "FindingsResult", "FINDING_COLUMNS", "KINDS"]
