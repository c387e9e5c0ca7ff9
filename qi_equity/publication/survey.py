"""Survey and engagement tables protected like patient tables: respondents are counts.

A survey table (staff readiness by role and item, participants by group and channel) is turned
into count cells -- ``measure`` names the table and column (``respondents:<item>``,
``agree:<item>``), ``dimension`` the grouping column, ``group`` its value -- with each count's
parent (agreeing respondents are part of all respondents, so the disagreeing are a complement),
and protected with :func:`qi_equity.publication.protect.protect`: a role of 2 respondents is
hidden, and so is 1 of 6 agreeing (the other 5 would give it back).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity.publication.cells import KEY
from qi_equity.publication.protect import Rule, protect
from qi_equity.publication.tables import Published, key_strings


def protect_table(df: pd.DataFrame, group: str, counts: dict, derived: dict | None = None,
                  rule: Rule | None = None, table: str = "survey", total: bool = True) -> Published:
    """Protect a small table of counts.

    Parameters
    ----------
    df : one row per group (``group`` column) and, optionally, per item (``item`` column).
    group : the grouping column (its values add up to everyone when ``total``).
    counts : count column -> its parent count column, or None (e.g. ``{"n": None, "agree": "n"}``).
    derived : column -> the count columns it is worked out from (percentages, means, intervals).
    rule : the disclosure rule.
    table : a name for the table (part of each cell's key).
    total : whether the groups add up to a total the reader can know (True: the all-groups
        count is an unpublished total, protected with the groups).
    """
    rule = rule or Rule()
    d = df.reset_index(drop=True)
    item = d["item"].astype(str) if "item" in d else pd.Series("", index=d.index)
    rows = []
    for col, parent in counts.items():
        meas = [f"{table}:{col}" + (f":{i}" if i else "") for i in item]
        par = [(f"{table}:{parent}" + (f":{i}" if i else "")) if parent else None for i in item]
        rows.append(pd.DataFrame({"measure": meas, "period": "survey", "specialty": "all", "dimension": group,
                                  "group": d[group].astype(str).to_numpy(), "value": pd.to_numeric(d[col]).to_numpy(float),
                                  "parent": par, "col": col, "row": d.index}))
    cells = pd.concat(rows, ignore_index=True)
    shown = cells.assign(shown=True)
    if total:
        tot = cells.groupby(["measure"], sort=False).agg(value=("value", "sum"), parent=("parent", "first")).reset_index()
        tot = tot.assign(period="survey", specialty="all", dimension="all", group="All", shown=False)
        # every group present: the groups are the whole partition of respondents
        shown = pd.concat([shown, tot], ignore_index=True)
    p = protect(shown.drop(columns=["col", "row"]), rule, links=())
    res = p.cells.iloc[:len(cells)]
    data = d.copy()
    mask = pd.DataFrame(False, index=data.index, columns=data.columns)
    keys = {}
    for col in counts:
        sel = (cells["col"] == col).to_numpy()
        r = cells.loc[sel, "row"].to_numpy()
        hid = res.loc[sel, "hidden"].to_numpy(bool)
        mask.loc[r, col] = hid
        data.loc[r[hid], col] = np.nan
        keys[col] = pd.Series(key_strings(cells.loc[sel, KEY]).to_numpy(), index=r)
    for col, bases in (derived or {}).items():
        if col not in data:
            continue
        m = np.zeros(len(data), dtype=bool)
        for b in bases:
            m |= mask[b].to_numpy()
        mask[col] = mask[col].to_numpy() | m
        data[col] = data[col].where(~mask[col], np.nan)
    return Published(data, mask, rule.threshold, keys, rule.min_median)
