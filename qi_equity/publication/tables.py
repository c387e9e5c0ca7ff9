"""Tables as views of a release: every count looked up, every derived value masked with it.

:func:`mask_table` takes a full-data table and says, column by column, which count cell each
value is (its key in the release) and which columns are derived from which counts; the result
shows a count only where the release publishes it, a rate or interval only where every count it
rests on is published, and a median only where its base is published and at least the rule's
minimum. The keys travel with the table to HTML (``data-cell`` attributes), where the audit
reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity.publication.cells import KEY

SUPPRESSED = "*"


@dataclass
class Published:
    """A table ready to publish: ``data`` with hidden cells set to NaN and ``mask``
    (True where a cell is hidden), the rule's ``threshold``, and ``keys`` (column -> the
    release key of each row's count, for the columns that are counts)."""

    data: pd.DataFrame
    mask: pd.DataFrame
    threshold: int
    keys: dict = field(default_factory=dict)
    min_median: int = 10

    @property
    def note(self) -> str:
        return (f"Counts from 1 to {self.threshold - 1}, and everything worked out from them, are shown as "
                f"'{SUPPRESSED}'; further counts are hidden where other published numbers would give them back. "
                f"No median on fewer than {self.min_median} pathways.")

    def display(self, decimals: int = 1) -> pd.DataFrame:
        """Strings for a report: numbers rounded, hidden cells as ``*``; ``.attrs["cells"]``
        carries the keys of the count columns."""
        out = self.data.copy().astype(object)
        for c in self.data.columns:
            col = self.data[c]
            if pd.api.types.is_float_dtype(col) or pd.api.types.is_integer_dtype(col):
                is_int = pd.api.types.is_integer_dtype(col) or col.dropna().mod(1).eq(0).all()
                fmt = (lambda v: f"{int(v):,}") if is_int else (lambda v, d=decimals: f"{v:,.{d}f}")
                out[c] = [SUPPRESSED if m else ("" if pd.isna(v) else fmt(v))
                          for v, m in zip(col, self.mask[c])]
        out.attrs["cells"] = {c: k for c, k in self.keys.items() if c in out.columns}
        return out


def key_strings(keys: pd.DataFrame) -> pd.Series:
    """``measure|period|specialty|dimension|group`` of each row (the ``data-cell`` attribute)."""
    return keys[KEY].astype(str).agg("|".join, axis=1)


def mask_table(release, df: pd.DataFrame, counts: dict, derived: dict | None = None,
               medians: dict | None = None) -> Published:
    """Mask a full-data table by a release.

    Parameters
    ----------
    release : :class:`~qi_equity.publication.release.Release`
    df : the table (full data).
    counts : column -> DataFrame of :data:`~qi_equity.publication.cells.KEY` (one row per row of
        ``df``): the count cell each value is.
    derived : column -> list of count columns it is worked out from.
    medians : column -> the count column it is a median (percentile, mean) of.
    """
    data = df.copy().reset_index(drop=True)
    mask = pd.DataFrame(False, index=data.index, columns=data.columns)
    keys = {}
    for col, k in counts.items():
        k = k.reset_index(drop=True)
        vals = release.published(k)
        full = pd.to_numeric(data[col], errors="coerce").to_numpy(float)
        if not np.allclose(np.nan_to_num(np.where(np.isnan(vals), full, vals)), np.nan_to_num(full)):
            if release.rule.rounding == 0:
                raise ValueError(f"column {col!r}: the table's counts differ from the release's")
        hidden = np.isnan(vals) & ~np.isnan(full)
        data[col] = vals
        mask[col] = hidden
        keys[col] = key_strings(k)
    for col, bases in (derived or {}).items():
        m = np.zeros(len(data), dtype=bool)
        for b in bases:
            m |= mask[b].to_numpy() | data[b].isna().to_numpy()
        m &= data[col].notna().to_numpy() if col in data else m
        mask[col] = mask[col].to_numpy() | m
        data[col] = data[col].where(~mask[col], np.nan)
    for col, base in (medians or {}).items():
        b = pd.to_numeric(data[base], errors="coerce").to_numpy(float)
        m = (mask[base].to_numpy() | ~release.median_ok(b)) & data[col].notna().to_numpy()
        mask[col] = mask[col].to_numpy() | m
        data[col] = data[col].where(~mask[col], np.nan)
    return Published(data, mask, release.rule.threshold, keys, release.rule.min_median)
