"""Gaps between groups over time, charted as their own SPC series, and the variation matrix.

None of the reference packages offers this: equity work needs to know whether the gap
between a group and its reference (IMD quintile 1 vs 5; working-age women vs working-age
men) is widening, so the gap itself is charted as an XmR with icons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity.variation.spc import SPCInputError, SPCResult, _as_list, spc


def gap(data: pd.DataFrame, reference: str, group: str = "group", value: str = "value", date: str = "month",
        groups=None, by=None, higher_is_worse: bool = True, statistic: str = "difference",
        **spc_options) -> SPCResult:
    """Chart the gap between each group and a reference group as its own series.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per (by x) group x date, with a value (e.g. the aggregate
        form filtered to one measure and dimension).
    reference : str
        The reference group (e.g. "Q5 least deprived", "Male 16-64").
    group, value, date : str
        Column names.
    groups : list, optional
        Groups to compare with the reference (default: every other group).
    by : list of str, optional
        Further series columns (provider, measure ...).
    higher_is_worse : bool
        Orientation: the gap is "how much worse off the group is", so it is
        ``group - reference`` when higher values are worse and ``reference - group`` otherwise
        (ratios likewise). A widening gap then always shows as an increase, charted with
        ``improvement="decrease"``: special cause of concern when it widens.
    statistic : {"difference", "ratio", "both"}
        Absolute gap, relative gap, or both (a ``statistic`` column tells them apart).
    **spc_options
        Passed to :func:`qi_equity.variation.spc` (chart defaults to ``xmr``).

    Returns
    -------
    SPCResult
        Series keyed by ``by + [group, "statistic"]``; ``value`` is the gap. A month in which
        either the group or the reference has no value is a missing point.

    References
    ----------
    Making Data Count (NHS England) for the XmR chart and icons; Public Health England,
    "Health inequalities: an introduction to the analytical tools" for absolute and
    relative gaps against a stated reference group.
    """
    by = _as_list(by)
    cols = by + [group, date, value]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise SPCInputError(f"column(s) {missing} not found in data")
    if statistic not in ("difference", "ratio", "both"):
        raise SPCInputError("statistic must be 'difference', 'ratio' or 'both'")
    d = data[cols].copy()
    d[group] = d[group].astype(str)
    if reference not in set(d[group]):
        raise SPCInputError(f"reference group {reference!r} not found in column '{group}'")
    ref = d[d[group] == reference].drop(columns=group).rename(columns={value: "_ref"})
    others = d[d[group] != reference]
    if groups is not None:
        others = others[others[group].isin([str(g) for g in groups])]
    m = others.merge(ref, on=by + [date], how="left")
    sign = 1.0 if higher_is_worse else -1.0
    frames = []
    if statistic in ("difference", "both"):
        frames.append(m.assign(statistic="difference", _gap=sign * (m[value] - m["_ref"])))
    if statistic in ("ratio", "both"):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(m["_ref"] > 0, m[value] / m["_ref"], np.nan) if higher_is_worse else \
                np.where(m[value] > 0, m["_ref"] / m[value], np.nan)
        frames.append(m.assign(statistic="ratio", _gap=r))
    g = pd.concat(frames, ignore_index=True)
    spc_options.setdefault("improvement", "decrease")
    res = spc(g, value="_gap", date=date, by=by + [group, "statistic"], **spc_options)
    res.options.update(gap_reference=reference, higher_is_worse=higher_is_worse)
    return res


def variation_matrix(result: SPCResult, rows: str, columns: str) -> pd.DataFrame:
    """Icons as a matrix: one row per value of ``rows``, one column per value of ``columns``.

    ``result`` must have been computed with ``by`` containing both columns (other ``by``
    columns must be constant). Cells are variation icons (``common_cause``,
    ``improvement_high`` ...); a missing series is empty.
    """
    icons = result.icons()
    for c in (rows, columns):
        if c not in icons.columns:
            raise SPCInputError(f"'{c}' is not one of the result's by columns {result.by}")
    extra = [b for b in result.by if b not in (rows, columns)]
    if extra and (icons[extra].nunique() > 1).any():
        raise SPCInputError(f"by columns {extra} vary: filter the result to one value of each first")
    mat = icons.pivot(index=rows, columns=columns, values="variation")
    mat.columns.name = None
    return mat.reset_index()
