"""Understanding variation: SPC (Making Data Count and qicharts2 charts), Anhøj run rules,
gaps between groups charted as their own series, and the variation icon matrix."""

from qi_equity.variation.gap import gap, variation_matrix
from qi_equity.variation.spc import CHARTS, SPCInputError, SPCResult, spc

__all__ = ["spc", "gap", "variation_matrix", "SPCResult", "SPCInputError", "CHARTS"]
