"""Equity self-assessment: the 11-theme inclusive digital transformation canvas and IHI's
questions for intentional equity in QI, scored per provider "now" and "target" with actions; and
NASSS, the complexity of each change project in seven domains (Greenhalgh et al. 2017)."""

from qi_equity.assessment.selfassessment import (frameworks, heatmap_table, load_assessment, plot_heatmap,
                                                 plot_provider, validate_assessment)

from qi_equity.assessment.nasss import DOMAINS as NASSS_DOMAINS
from qi_equity.assessment.nasss import load_nasss, nasss_profile, nasss_table, validate_nasss

__all__ = ["NASSS_DOMAINS", "load_nasss", "validate_nasss", "nasss_table", "nasss_profile", "frameworks", "validate_assessment", "load_assessment", "heatmap_table", "plot_heatmap", "plot_provider"]
