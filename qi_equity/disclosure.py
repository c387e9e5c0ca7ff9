"""Small-number suppression for everything a report publishes.

Primary suppression hides counts from 1 to ``threshold - 1`` (1-4 by default; zero is
published) and every value derived from them. Secondary suppression then makes sure no
hidden count can be recovered from the totals: within each *partition* (the groups of
one dimension, which add up to the published total) a lone hidden count, or hidden
counts that could only be all ones, force the next smallest published count to be
hidden as well. Hiding a count hides the values derived from it, which can trigger more
secondary suppression; this repeats until nothing changes.

References
----------
.. [1] NHS Digital (2014, updated). "Disclosure control method for Hospital Episode
       Statistics": counts 1-7 (1-4 in many publications) suppressed with secondary
       suppression so totals cannot reveal them.
.. [2] Office for National Statistics, "Statistical disclosure control for tables":
       primary and secondary (complementary) cell suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 5
SUPPRESSED = "*"


@dataclass
class Published:
    """A table ready to publish: ``data`` with hidden cells set to NaN and ``mask``
    (True where a cell is hidden), plus the rule used."""

    data: pd.DataFrame
    mask: pd.DataFrame
    threshold: int

    @property
    def note(self) -> str:
        return (f"Counts from 1 to {self.threshold - 1} and every value derived from them are shown as "
                f"'{SUPPRESSED}'; further cells are hidden where needed so that totals cannot reveal them.")

    def display(self, decimals: int = 1) -> pd.DataFrame:
        """Strings for a report: numbers rounded, hidden cells as ``*``."""
        out = self.data.copy().astype(object)
        for c in self.data.columns:
            col = self.data[c]
            if pd.api.types.is_float_dtype(col) or pd.api.types.is_integer_dtype(col):
                is_int = pd.api.types.is_integer_dtype(col) or col.dropna().mod(1).eq(0).all()
                fmt = (lambda v: f"{int(v):,}") if is_int else (lambda v, d=decimals: f"{v:,.{d}f}")
                out[c] = [SUPPRESSED if m else ("" if pd.isna(v) else fmt(v))
                          for v, m in zip(col, self.mask[c])]
        return out


def primary(counts: pd.Series, threshold: int = DEFAULT_THRESHOLD) -> pd.Series:
    """True for counts from 1 to ``threshold - 1``."""
    c = pd.to_numeric(counts, errors="coerce")
    return (c >= 1) & (c < threshold)


def suppress_table(df: pd.DataFrame, counts: dict[str, list[str]], partition: list[str] | None = None,
                   threshold: int = DEFAULT_THRESHOLD) -> Published:
    """Suppress small counts, their derived values, and complementary cells.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to publish.
    counts : dict
        Each count column mapped to the columns derived from it, e.g.
        ``{"completed": ["median_wait", "over_18_pct"], "dna": ["dna_rate"]}``. A derived
        column that is itself a count (a key) is suppressed as a count too.
    partition : list of str, optional
        Columns whose values identify sets of rows that add up to a published total (e.g.
        ``["dimension"]`` or ``["month", "measure", "dimension"]``). Without it, only
        primary suppression is applied.
    threshold : int
        Counts below it (and above zero) are hidden.

    Returns
    -------
    Published
        ``.data`` (hidden cells NaN), ``.mask``, ``.display()``.
    """
    data = df.copy()
    mask = {c: np.zeros(len(df), dtype=bool) for c in df.columns}
    for c in counts:
        mask[c] |= primary(df[c], threshold).to_numpy()
    gid = (df.groupby(partition, sort=False, observed=True, dropna=False).ngroup().to_numpy()
           if partition else None)

    def propagate():
        changed = False
        for c, derived in counts.items():
            for d in derived:
                new = mask[d] | mask[c]
                if (new != mask[d]).any():
                    mask[d] = new
                    changed = True
        return changed

    def secondary():
        """Vectorised over partitions: add the smallest published positive count of every
        partition whose hidden counts are a lone cell or could only be all ones."""
        if gid is None or len(df) == 0:
            return False
        changed = False
        ng = int(gid.max()) + 1
        size = np.bincount(gid, minlength=ng)
        for c in counts:
            vals = np.nan_to_num(pd.to_numeric(df[c], errors="coerce").to_numpy(float))
            while True:
                hidden = mask[c]
                k = np.bincount(gid, weights=hidden.astype(float), minlength=ng)
                tot = np.bincount(gid, weights=np.where(hidden, vals, 0.0), minlength=ng)
                need = (k >= 1) & ((k == 1) | (tot <= k)) & (size >= 2)
                cand = np.flatnonzero(~hidden & (vals > 0) & need[gid])
                if len(cand) == 0:
                    break
                order = cand[np.lexsort((vals[cand], gid[cand]))]
                g = gid[order]
                first = order[np.r_[True, g[1:] != g[:-1]]]
                mask[c][first] = True
                changed = True
        return changed

    while True:
        a = propagate()
        b = secondary()
        if not (a or b):
            break
    mask = pd.DataFrame(mask, index=df.index)
    for c in mask.columns:
        if mask[c].any():
            data[c] = data[c].astype(float).where(~mask[c].to_numpy(), np.nan)
    return Published(data=data, mask=mask, threshold=threshold)


def round_to(counts, base: int = 5):
    """Round counts to the nearest ``base`` (some publications round instead of suppressing)."""
    return (np.round(np.asarray(counts, dtype=float) / base) * base).astype(int)
