"""Equity self-assessment: the 11-theme inclusive digital transformation canvas and IHI's
questions for intentional equity in QI, scored per provider "now" and "target" with actions."""

from qi_equity.assessment.selfassessment import (frameworks, heatmap_table, load_assessment, plot_heatmap,
                                                 plot_provider, validate_assessment)

__all__ = ["frameworks", "validate_assessment", "load_assessment", "heatmap_table", "plot_heatmap", "plot_provider"]
