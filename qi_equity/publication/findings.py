"""Publishing findings: ``findings.json`` per provider, ``collaborative_findings.json``.

A finding is computed on full data; what is published of it is decided by the provider's
release (:mod:`qi_equity.publication.release`), like every other table: a finding's numbers
are shown only when every count they rest on is published there -- the window counts of its
group and reference, and for a change, every period of its charted series -- and a median
only on at least the rule's minimum of pathways. Otherwise it keeps its kind and who it is
about, but no number, and its sentence says the numbers are withheld. The counts behind the
numbers shown are published with the findings (``cells``), so the audit sees them.
Internal columns (cell indices, raw test counts) are never published.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.publication.protect import DEFAULT_THRESHOLD
from qi_equity.findings.build import FINDING_COLUMNS

SCHEMA = "qi_equity.findings/1"
MIN_MEDIAN = 10
NUMBERS = ["value_group", "value_reference", "mean_before", "mean_after", "size", "size_lower", "size_upper",
           "ratio", "ratio_lower", "ratio_upper"]


def _clean(v):
    if v is pd.NaT or (isinstance(v, np.datetime64) and np.isnat(v)):
        return None
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(f"{float(v):.6g}")
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.strftime("%Y-%m-%d")
    if v is pd.NA or v is None or (isinstance(v, float) and v != v):
        return None
    return v


def _small(result, threshold: int) -> np.ndarray:
    """Findings whose comparison rests on a small count (gap now: the pooled counts)."""
    d = result.data
    t = result.tests
    out = np.zeros(len(d), dtype=bool)
    if t is None or t.empty:
        return out
    now = t[t["family"] == "gap_now"].set_index(["measure", "cell", "ref_cell"])
    for i, r in enumerate(d.itertuples()):
        if r.kind not in ("gap_now", "stage") or pd.isna(r.cell):
            continue
        key = (r.measure, r.cell, r.ref_cell)
        if key not in now.index:
            continue
        row = now.loc[key]
        row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
        counts = [row["n_group"], row["n_reference"]]
        out[i] = any(1 <= c < max(threshold, MIN_MEDIAN if r.measure.endswith("wait") else threshold)
                     for c in counts if pd.notna(c))
    return out


CHANGE_KINDS = ("gap_changing", "improvement", "group_changing")


def basis_keys(result, release) -> list:
    """For each finding, the keys of the counts its numbers rest on (empty when none are in the
    release's scope: e.g. engagement reach)."""
    from qi_equity.findings.cells import EVERYONE_ELSE
    from qi_equity.publication.release import SCAN_BASES, _period_labels, run_label

    d = result.data
    data = result.cells
    out = []
    win = run_label(data.months[-data.window_months], data.months[-1]) if data is not None else None
    for r in d.itertuples():
        keys = []
        if r.kind == "data_quality":
            keys.append(("dq:" + str(r.measure), "extract", "all", "all", "All"))
        elif r.measure in SCAN_BASES and data is not None and pd.notna(r.cell) and int(r.cell) >= 0 and \
                r.kind in ("gap_now", "stage") + CHANGE_KINDS:
            den, num = SCAN_BASES[r.measure]
            groups = [r.group]
            if r.kind != "group_changing" and isinstance(r.reference_group, str) and r.reference_group:
                groups.append("~" + r.group if r.reference_group == EVERYONE_ELSE else r.reference_group)
            for g in groups:
                for b in (den, num):
                    if b:
                        keys.append((b, win, r.specialty, r.dimension, g))
            if r.kind in CHANGE_KINDS and pd.notna(r.grain) and int(r.grain) > 0:
                _, dates = data.series(r.measure, int(r.grain))
                series_groups = groups if r.kind != "group_changing" and not str(r.reference_group) == EVERYONE_ELSE \
                    else groups[:1]
                for lab in _period_labels(dates, int(r.grain)):
                    for g in series_groups:
                        for b in (den, num):
                            if b:
                                keys.append((b, lab, r.specialty, r.dimension, g))
        out.append(keys)
    return out


def _withheld(result, release, basis) -> np.ndarray:
    """Findings whose numbers rest on a count the release does not publish (or a median on too
    few pathways)."""
    from qi_equity.publication.cells import KEY

    hide = np.zeros(len(basis), dtype=bool)
    for i, keys in enumerate(basis):
        if not keys:
            continue
        k = pd.DataFrame(keys, columns=KEY)
        v = release.published(k, strict=False)
        med = str(result.data["measure"].iat[i]).endswith("wait")
        den = k["measure"].isin(["completed", "first_appts"]).to_numpy()
        hide[i] = bool(np.isnan(v).any() or (med and (v[den] < release.rule.min_median).any()))
    return hide


def publish_findings(result, release=None, census_date=None, provider_name: str = "",
                     threshold: int | None = None) -> dict:
    """The publishable payload of a :class:`~qi_equity.findings.FindingsResult` (or of a
    collaborative result, whose ``.data`` has the same columns), as ``release`` publishes it.

    Without a release (a collaborative result, built from published files only), a finding's
    numbers are withheld when a count it rests on is below ``threshold``."""
    d = result.data.copy()
    cells_out = None
    if release is not None and hasattr(result, "tests"):
        basis = basis_keys(result, release)
        hide = _withheld(result, release, basis)
        threshold = release.rule.threshold
        from qi_equity.publication.cells import KEY

        shown = sorted({k for keys, h in zip(basis, hide) if not h for k in keys})
        vals = release.published(pd.DataFrame(shown, columns=KEY), strict=False) if shown else []
        cells_out = {"columns": KEY + ["value"], "data": [list(k) + [_clean(v)] for k, v in zip(shown, vals)]}
    else:
        threshold = int(threshold or DEFAULT_THRESHOLD)
        hide = _small(result, threshold) if hasattr(result, "tests") else np.zeros(len(d), dtype=bool)
    for c in NUMBERS:
        if c in d:
            d.loc[hide, c] = np.nan
    if hide.any():
        d.loc[hide, "sentence"] = [s.split(":")[0].split(" over the last")[0] + " (numbers withheld: small counts)."
                                   for s in d.loc[hide, "sentence"]]
    extra = [c for c in ("provider_name", "limit", "method", "standardised") if c in d]
    cols = [c for c in FINDING_COLUMNS if c in d] + extra
    summary = getattr(result, "summary", None)
    meta = {} if summary is None or len(summary) == 0 else {k: _clean(v) for k, v in summary.iloc[0].items()}
    payload = {"schema": SCHEMA, "provider_code": meta.get("provider_code") or (d["provider_code"].iloc[0] if len(d) else ""),
               "provider_name": provider_name, "census_date": str(pd.Timestamp(census_date).date()) if census_date else None,
               "suppression_threshold": threshold, "scan": meta,
               "findings": {"columns": cols, "data": [[_clean(v) for v in row] for row in d[cols].itertuples(index=False)]}}
    if cells_out is not None:
        payload["cells"] = cells_out
    return payload


def write_findings(path: str | Path, payload: dict):
    """Write a findings file deterministically and atomically."""
    from qi_equity.data.io import atomic_write

    atomic_write(path, json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")


def read_findings(path_or_folder: str | Path) -> pd.DataFrame:
    """Findings from one file, or every ``*.json`` of a folder, as one DataFrame."""
    p = Path(path_or_folder)
    files = sorted(p.glob("*.json")) if p.is_dir() else [p]
    parts = []
    for f in files:
        payload = json.loads(f.read_text())
        t = payload["findings"]
        df = pd.DataFrame(t["data"], columns=t["columns"])
        if "provider_name" not in df and payload.get("provider_name"):
            df["provider_name"] = payload["provider_name"]
        parts.append(df)
    if not parts:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    for c in ("period_start", "period_end"):
        if c in out:
            out[c] = pd.to_datetime(out[c])
    return out
