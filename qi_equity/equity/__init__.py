"""Equity statistics: intervals, group comparisons, inequality indices and funnel plots."""

from qi_equity.equity.intervals import proportion_ci, rate_ci

__all__ = ["proportion_ci", "rate_ci"]
