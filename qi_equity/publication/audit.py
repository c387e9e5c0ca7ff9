"""The disclosure audit: read every published file back and try to recover what was hidden.

:func:`audit` reads a report folder as a reader outside the trust would have it -- the
metrics files (``metrics/*.json`` or ``*.json`` beside the reports), the findings files, and
every HTML report's tables (each published count is a table cell carrying its key in a
``data-cell`` attribute) -- gathers each provider's published counts, builds every linear
relation between them (:func:`qi_equity.publication.cells.relations`) and works out, for every
count that is not published, what the published ones imply: exact values by substitution and
bounds by linear programming (:func:`qi_equity.publication.bounds.bounds`). It reports:

- ``exposed`` -- a hidden or unpublished count determined, or bounded to fewer than
  ``threshold - 1`` whole numbers, while it may be from 1 to ``threshold - 1``;
- ``inconsistent`` -- one count published with two different values (two files disagree);
- ``median_base`` -- a median, percentile or mean wait on fewer than the minimum of pathways
  (or on a hidden count);
- ``derived_of_hidden`` -- a rate or percentage shown while a count it rests on is hidden.

The audit knows only what was published (it never reads the extracts), so a clean audit is a
statement about the files.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.publication.bounds import bounds
from qi_equity.publication.cells import KEY, LINK_FAMILIES, relations
from qi_equity.publication.protect import DEFAULT_MIN_MEDIAN, DEFAULT_THRESHOLD

ISSUE_COLUMNS = ["provider_code", "kind", "file"] + KEY + ["lower", "upper", "detail"]
_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")


class _CellParser(HTMLParser):
    """Collects ``(key, text)`` of every element with a ``data-cell`` attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._stack: list[tuple[str, list[str]] | None] = []

    def handle_starttag(self, tag, attrs):
        key = dict(attrs).get("data-cell")
        self._stack.append((key, []) if key else None)

    def handle_endtag(self, tag):
        if self._stack:
            top = self._stack.pop()
            if top is not None:
                self.found.append((top[0], "".join(top[1]).strip()))
                if self._stack and self._stack[-1] is not None:
                    self._stack[-1][1].append("".join(top[1]))

    def handle_data(self, data):
        for item in reversed(self._stack):
            if item is not None:
                item[1].append(data)
                break


def cell_key(measure, period, specialty, dimension, group) -> str:
    """The ``data-cell`` attribute of a published count."""
    return "|".join(str(x) for x in (measure, period, specialty, dimension, group))


def _parse_number(text: str) -> float | None:
    t = text.replace("\u2009", "").replace(" ", "")
    if t in ("*", "", "\u2013", "-"):
        return None
    if _NUMBER.match(t):
        return float(t.replace(",", ""))
    raise ValueError(f"not a count: {text!r}")


def html_cells(path: str | Path) -> pd.DataFrame:
    """Every published count of an HTML report: ``KEY, value`` (NaN where shown as ``*``)."""
    p = _CellParser()
    p.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    rows = []
    for key, text in p.found:
        parts = key.split("|")
        if len(parts) != 5:
            continue
        v = _parse_number(text)
        rows.append(parts + [np.nan if v is None else v])
    return pd.DataFrame(rows, columns=KEY + ["value"])


def _metrics_cells(payload: dict) -> pd.DataFrame:
    from qi_equity.publication.release import aggregate_cells

    parts = []
    c = payload.get("cells")
    if c:
        parts.append(pd.DataFrame(c["data"], columns=c["columns"]))
    m = payload.get("monthly")
    if m and m.get("data"):
        agg = pd.DataFrame(m["data"], columns=m["columns"])
        parts.append(aggregate_cells(agg))
    if not parts:
        return pd.DataFrame(columns=KEY + ["value"])
    out = pd.concat(parts, ignore_index=True)
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out


def _findings_cells(payload: dict) -> pd.DataFrame:
    c = payload.get("cells")
    if not c:
        return pd.DataFrame(columns=KEY + ["value"])
    out = pd.DataFrame(c["data"], columns=c["columns"])
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out


def _derived_checks(code: str, file: str, payload: dict, min_median: int) -> list[dict]:
    """Medians on small or hidden bases, rates on hidden counts, in the metrics tables."""
    issues = []
    m = payload.get("monthly")
    if m and m.get("data"):
        agg = pd.DataFrame(m["data"], columns=m["columns"])
        med = agg["measure"].isin(["completed_median_wait", "first_appointment_wait"])
        den = pd.to_numeric(agg["denominator"], errors="coerce")
        val = pd.to_numeric(agg["value"], errors="coerce")
        bad = med & val.notna() & ~(den >= min_median)
        pct = agg["measure"].isin(["completed_over_18", "completed_over_52", "removed_other", "dna_rate", "waiting_over_18"])
        num = pd.to_numeric(agg["numerator"], errors="coerce")
        bad2 = pct & val.notna() & (den.isna() | num.isna())
        for r in agg[bad].itertuples():
            issues.append({"provider_code": code, "kind": "median_base", "file": file, "measure": r.measure,
                           "period": str(r.month)[:7], "specialty": r.specialty, "dimension": r.dimension,
                           "group": r.group, "detail": f"median on {r.denominator} pathways (minimum {min_median})"})
        for r in agg[bad2].itertuples():
            issues.append({"provider_code": code, "kind": "derived_of_hidden", "file": file, "measure": r.measure,
                           "period": str(r.month)[:7], "specialty": r.specialty, "dimension": r.dimension,
                           "group": r.group, "detail": "a percentage shown while a count it rests on is hidden"})
    e = payload.get("equity_table")
    if e and e.get("data"):
        t = pd.DataFrame(e["data"], columns=e["columns"])
        if "median_wait" in t and "completed" in t:
            bad = t["median_wait"].notna() & ~(pd.to_numeric(t["completed"], errors="coerce") >= min_median)
            for r in t[bad].itertuples():
                issues.append({"provider_code": code, "kind": "median_base", "file": file, "measure": "median_wait",
                               "period": "window", "specialty": "all", "dimension": r.dimension, "group": r.group,
                               "detail": f"median on {r.completed} pathways (minimum {min_median})"})
    return issues


def _files(root: Path) -> dict[str, dict[str, list[Path]]]:
    """Published files by provider code: metrics, findings, html."""
    out: dict[str, dict[str, list[Path]]] = {}

    def add(code, kind, path):
        out.setdefault(code, {"metrics": [], "findings": [], "html": []})[kind].append(path)

    for f in sorted(root.rglob("*.json")):
        try:
            payload = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(payload, dict):
            continue
        schema = str(payload.get("schema", ""))
        code = payload.get("provider_code")
        if schema.startswith("qi_equity.metrics") and code:
            add(code, "metrics", f)
        elif schema.startswith("qi_equity.findings") and code:
            add(code, "findings", f)
    for f in sorted(root.rglob("*.html")):
        code = f.stem
        if code in out:
            add(code, "html", f)
    return out


def audit(reports_dir: str | Path, threshold: int | None = None, min_median: int | None = None,
          workers: int | None = None) -> pd.DataFrame:
    """Audit every published file under ``reports_dir`` (see the module docstring).

    Parameters
    ----------
    reports_dir : a folder of published outputs (``qi-equity reports`` writes one).
    threshold : the suppression threshold to audit against (default: each file's own).
    min_median : the minimum base of a median (default: each file's own, at least 10).
    workers : providers audited at once in forked processes (each provider's files are audited
        on their own); default: the machine's cores, at most the number of providers.

    Returns
    -------
    pandas.DataFrame
        One row per issue: ``provider_code, kind, file, measure, period, specialty, dimension,
        group, lower, upper, detail``; empty when nothing can be recovered. ``.attrs`` holds
        ``providers`` (codes audited), ``cells`` (published counts read) and ``hidden``
        (counts not published that were bounded).
    """
    import os

    root = Path(reports_dir)
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {root}")
    files = _files(root)
    jobs = [(code, fl, root, threshold, min_median) for code, fl in sorted(files.items())]
    from qi_equity.parallel import fork_map

    results = fork_map(_audit_provider, jobs, workers or os.cpu_count() or 1)
    issues = [i for r in results for i in r[0]]
    out = pd.DataFrame(issues, columns=ISSUE_COLUMNS)
    out.attrs.update(providers=sorted(files), cells=sum(r[1] for r in results),
                     hidden=sum(r[2] for r in results))
    return out


def _audit_provider(job) -> tuple[list[dict], int, int]:
    """One provider's files: ``(issues, published counts read, hidden counts bounded)``."""
    code, fl, root, threshold, min_median = job
    issues: list[dict] = []
    n_cells = n_hidden = 0
    parts = []
    rule_t, rule_m, links = None, None, set()
    for f in fl["metrics"]:
        payload = json.loads(f.read_text(encoding="utf-8"))
        rule = payload.get("rule") or {}
        rule_t = rule_t or rule.get("threshold") or payload.get("suppression_threshold")
        rule_m = rule_m or rule.get("min_median")
        links |= set(payload.get("links") or ())
        parts.append(_metrics_cells(payload).assign(file=str(f.relative_to(root))))
        issues += _derived_checks(code, str(f.relative_to(root)), payload, int(min_median or rule_m or DEFAULT_MIN_MEDIAN))
    for f in fl["findings"]:
        payload = json.loads(f.read_text(encoding="utf-8"))
        rule_t = rule_t or payload.get("suppression_threshold")
        parts.append(_findings_cells(payload).assign(file=str(f.relative_to(root))))
    for f in fl["html"]:
        try:
            parts.append(html_cells(f).assign(file=str(f.relative_to(root))))
        except ValueError as exc:
            issues.append({"provider_code": code, "kind": "unreadable", "file": str(f.relative_to(root)),
                           "detail": str(exc)})
    t = int(threshold or rule_t or DEFAULT_THRESHOLD)
    allc = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=KEY + ["value", "file"])
    if allc.empty:
        return issues, n_cells, n_hidden
    for c in KEY:
        allc[c] = allc[c].astype(str)
    # one value per count; a count published in one file and hidden in another is published
    g = allc.groupby(KEY, sort=False)
    lo_v, hi_v = g["value"].min(), g["value"].max()
    files_of = g["file"].agg(lambda s: ", ".join(sorted(set(s))))
    bad = (hi_v - lo_v).abs() > 1e-9
    for k in bad[bad].index:
        issues.append(dict(zip(KEY, k)) | {"provider_code": code, "kind": "inconsistent", "file": files_of[k],
                                           "lower": lo_v[k], "upper": hi_v[k],
                                           "detail": "the same count is published with two values"})
    cells = lo_v.rename("value").reset_index()
    cells["file"] = files_of.to_numpy()
    n_cells += int(cells["value"].notna().sum())
    fam = tuple(f for f in LINK_FAMILIES if f in links) if links else ("intersection",)
    sys = relations(cells[KEY + ["value"]], fam)
    v = sys.vars["value"].to_numpy(float)
    known = ~np.isnan(v)
    shown = np.zeros(len(v), dtype=bool)
    shown[:sys.n_input] = True
    lb = np.where(shown & ~known, 1.0, 0.0)
    b = bounds(sys.A, v, known, lb, t, exact=True)
    n_hidden += int((~known).sum())
    file_of = np.array(list(cells["file"]) + [""] * (len(v) - sys.n_input), dtype=object)
    for i in np.flatnonzero(b.exposed):
        r = sys.vars.iloc[i]
        how = "determined" if abs(b.lo[i] - b.hi[i]) < 1e-6 else "bounded"
        issues.append({"provider_code": code, "kind": "exposed", "file": file_of[i] or "(not published: "
                       + str(r["role"]) + ")", **{k: r[k] for k in KEY}, "lower": float(b.lo[i]),
                       "upper": float(b.hi[i]),
                       "detail": f"{how} by the published counts to {_range(b.lo[i], b.hi[i])} (threshold {t})"})
    return issues, n_cells, n_hidden


def _range(lo: float, hi: float) -> str:
    a, b = int(np.ceil(lo - 1e-6)), (np.inf if not np.isfinite(hi) else int(np.floor(hi + 1e-6)))
    return f"exactly {a}" if a == b else f"{a} to {b}"


def summary(issues: pd.DataFrame) -> str:
    """A few lines for a terminal: what was audited and what was found."""
    a = issues.attrs
    head = (f"Audited {len(a.get('providers', []))} provider(s): {a.get('cells', 0):,} published counts, "
            f"{a.get('hidden', 0):,} hidden or unpublished counts bounded.")
    if issues.empty:
        return head + "\nNothing can be recovered: no hidden count is determined or narrowly bounded."
    lines = [head, f"{len(issues)} issue(s):"]
    for r in issues.head(50).itertuples():
        lines.append(f"  {r.provider_code} {r.kind}: {r.file} [{r.measure} | {r.period} | {r.specialty} | "
                     f"{r.dimension} | {r.group}] {r.detail}")
    if len(issues) > 50:
        lines.append(f"  ... and {len(issues) - 50} more")
    return "\n".join(lines)
