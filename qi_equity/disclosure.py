"""Disclosure control: the public face of :mod:`qi_equity.publication`.

What a provider publishes is decided in one place, the provider's *release*
(:func:`qi_equity.publication.release.provider_release`): every count any table, chart, alt
text or file shows is a cell of it, and cells are suppressed together over every linear
relation between them (partitions, totals, months and their 12-month sums, subsets and their
complements, specialties, linked dimensions). :func:`audit` reads the published files back and
tries to recover what was hidden. Methods and limits: ``docs/disclosure.md``.

References
----------
.. [1] NHS Digital (2014). *Hospital Episode Statistics: Disclosure Control Method*.
.. [2] Hundepool A, et al. (2012). *Statistical Disclosure Control*. Wiley.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity.publication.audit import audit, summary as audit_summary
from qi_equity.publication.protect import DEFAULT_MIN_MEDIAN, DEFAULT_THRESHOLD, HES_THRESHOLD, Rule, protect
from qi_equity.publication.tables import SUPPRESSED, Published

__all__ = ["audit", "audit_summary", "protect", "Rule", "Published", "primary", "round_to", "DEFAULT_THRESHOLD",
           "DEFAULT_MIN_MEDIAN", "HES_THRESHOLD", "SUPPRESSED"]


def primary(counts: pd.Series, threshold: int = DEFAULT_THRESHOLD) -> pd.Series:
    """True for counts from 1 to ``threshold - 1`` (primary suppression; zero is published)."""
    c = pd.to_numeric(counts, errors="coerce")
    return (c >= 1) & (c < threshold)


def round_to(counts, base: int = 5):
    """Round counts to the nearest ``base`` (the HES option rounds every published count to 5)."""
    return (np.round(np.asarray(counts, dtype=float) / base) * base).astype(int)
