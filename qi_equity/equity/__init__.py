"""Equity statistics: intervals, group comparisons, inequality indices and funnel plots."""

from qi_equity.equity.compare import compare_groups, summary_measures
from qi_equity.equity.funnel import FunnelResult, funnel
from qi_equity.equity.intervals import proportion_ci, rate_ci
from qi_equity.equity.sii import sii

__all__ = ["proportion_ci", "rate_ci", "compare_groups", "summary_measures", "funnel", "FunnelResult", "sii"]
