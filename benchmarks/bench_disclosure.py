"""Disclosure: the audit of the whole sample collaborative's published files and of one
national-size provider's, and the secondary suppression of one report's release (compared in
the same run with its floor: primary suppression of the same cells)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data_samples" / "collaborative.yaml"


def setup_sample_audit():
    from qi_equity.reports.provider import build_metrics

    out = Path(tempfile.mkdtemp(prefix="qi-bench-audit-"))
    build_metrics(CONFIG, out / "metrics", findings_dir=out / "findings")
    return out


def run_audit(folder):
    from qi_equity.disclosure import audit, audit_summary

    issues = audit(folder)
    assert issues.empty, audit_summary(issues)
    return issues


def summarise_audit(issues):
    a = issues.attrs
    return {"markdown": f"Disclosure audit: {len(a['providers'])} provider(s), {a['cells']:,} published counts, "
                        f"{a['hidden']:,} hidden or unpublished counts bounded; nothing recoverable"}


def setup_national_audit():
    from benchmarks.bench_national import CENSUS, _aggregate
    from qi_equity.publication.metrics import write_metrics_from_aggregate

    agg = _aggregate()
    code = sorted(agg["provider_code"].unique())[0]
    one = agg[agg["provider_code"] == code]
    out = Path(tempfile.mkdtemp(prefix="qi-bench-audit-national-"))
    write_metrics_from_aggregate(one, out, CENSUS)
    return out


def setup_protect():
    import pickle

    from qi_equity.reports.findings import provider_findings
    from qi_equity.reports.provider import load_provider, monthly, release

    derived = load_provider(ROOT / "data_samples/providers/XQB.csv", "2026-03-31")
    agg = monthly(derived, "2026-03-31", by_specialty=False)
    found = provider_findings(derived, "2026-03-31", str(ROOT / "data_samples"), "XQB")
    rel = release(derived, agg, "2026-03-31", found)
    cols = ["measure", "period", "specialty", "dimension", "group", "value", "shown"]
    if "parent" in rel.cells:
        cols.append("parent")
    return dict(cells=pickle.loads(pickle.dumps(rel.cells[cols])), links=rel.links)


def run_protect(d):
    from qi_equity.publication.protect import protect

    return protect(d["cells"], links=d["links"])


def run_primary(d):
    """The floor: primary suppression alone of the same cells."""
    c = d["cells"]
    v = c["value"].to_numpy(float)
    return (v >= 1) & (v < 5)


def summarise_protect(p):
    c = p.cells
    return {"markdown": f"Secondary suppression of one report: {int(c['shown'].sum()):,} published cells: {int((c['reason'] == 'primary').sum()):,} primary, "
                        f"{int((c['reason'] == 'secondary').sum()):,} secondary, {p.rounds} rounds"}


def cleanup(folder):
    shutil.rmtree(folder, ignore_errors=True)


BENCHMARKS = {
    "disclosure_audit_sample_collaborative": dict(
        setup=setup_sample_audit, run=run_audit, summarise=summarise_audit, warmup=False,
        note="qi-equity audit of the six sample providers' metrics and findings files, one process per provider on the machine's cores (target: under a minute)"),
    "disclosure_audit_national_provider": dict(
        setup=setup_national_audit, run=run_audit, summarise=summarise_audit, warmup=False, repeats=3,
        note="audit of one national-size provider's published aggregate by specialty (~37,500 pathways; "
             "target: under five minutes)"),
    "disclosure_secondary_suppression_one_report": dict(
        setup=setup_protect, run=run_protect, summarise=summarise_protect, warmup=False, repeats=3,
        note="protect() on XQB's whole release (tables, monthly aggregate, findings and their charts); "
             "target: under a second"),
    "disclosure_primary_only_one_report": dict(
        setup=setup_protect, run=run_primary, warmup=False,
        note="the floor in the same run: primary suppression of the same cells"),
}
