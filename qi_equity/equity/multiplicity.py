"""Multiple comparisons: adjusted p-values for a family of tests.

A provider scan tests hundreds of group x measure x specialty cells; at 5% each, every trust
would get false alarms. The scan therefore treats all of one provider's tests as one family
and controls the false discovery rate across it. The method is a named parameter, as in
statsmodels' ``multipletests``:

- ``"fdr_bh"`` (default): Benjamini & Hochberg (1995) step-up; controls the FDR at ``q``
  for independent or positively dependent tests (PRDS), which overlapping groups are [1]_ [2]_.
  When nothing is planted at a provider (every null true), FDR control is control of the
  chance of *any* false finding at ``q``.
- ``"fdr_by"``: Benjamini & Yekutieli (2001), valid under any dependence, more conservative [2]_.
- ``"bonferroni"``: family-wise error control, the most conservative [3]_.
- ``"none"``: unadjusted.

References
----------
.. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical and
       powerful approach to multiple testing. JRSS B 57: 289-300.
.. [2] Benjamini Y, Yekutieli D (2001). The control of the false discovery rate in multiple
       testing under dependency. Annals of Statistics 29: 1165-1188.
.. [3] Dunn OJ (1961). Multiple comparisons among means. JASA 56: 52-64.
.. [4] Jones HE, Ohlssen DI, Spiegelhalter DJ (2008). Use of the false discovery rate when
       comparing multiple health care providers. J Clin Epidemiol 61: 232-240.
"""

from __future__ import annotations

import numpy as np

METHODS = ("fdr_bh", "fdr_by", "bonferroni", "none")


def adjust(p_values, method: str = "fdr_bh") -> np.ndarray:
    """Adjusted p-values (q-values for the FDR methods); NaN stays NaN and is not counted.

    Parameters
    ----------
    p_values : array-like
        One p-value per test of the family.
    method : {"fdr_bh", "fdr_by", "bonferroni", "none"}

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, capped at 1: a test is a discovery at level ``q`` when its adjusted
        p-value is at most ``q``. For ``fdr_bh``: ``min over j >= i of m p_(j) / j`` in the sorted
        order [1]_; ``fdr_by`` multiplies by ``sum(1/k, k=1..m)`` [2]_.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = np.clip(p[ok], 0.0, 1.0)
    if method == "none":
        out[ok] = pv
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, pv * m)
        return out
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    if method == "fdr_by":
        ranked = ranked * np.sum(1.0 / np.arange(1, m + 1))
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(1.0, q)
    out[ok] = adj
    return out
