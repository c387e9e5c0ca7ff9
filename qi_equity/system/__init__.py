"""Appreciation for a system: where on the pathway an inequity enters.

IHI's first lens asks who the people are, what the culture, structures and key processes
are. Here: the pathway stages (referral -> first appointment -> treatment or removal), with
conversion and time at each stage by equity group, and the stage where a gap opens.
"""

from qi_equity.system.pathway import STAGES, gap_opens_at, stage_analysis, stage_gaps
from qi_equity.system.representation import referral_rates, representation

__all__ = ["stage_analysis", "stage_gaps", "gap_opens_at", "STAGES", "representation"]
