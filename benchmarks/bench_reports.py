"""Report pipeline timings: one provider report, and the whole sample collaborative
(five provider reports plus the collaborative report) with 1 and 2 workers."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data_samples" / "collaborative.yaml"


def _out():
    return Path(tempfile.mkdtemp(prefix="qi-bench-"))


def setup_one():
    from qi_equity.data.validation import _gx
    from qi_equity.reports.runner import ensure_kernel, find_notebooks

    _gx()  # imported once per process, as the runner does before forking workers
    ensure_kernel()
    out = _out()
    return dict(code="XQB", name="Brindle Valley", extract=str(ROOT / "data_samples/providers/XQB.csv"),
                census_date="2026-03-31", out_dir=str(out), notebook=str(find_notebooks() / "provider_report.ipynb"),
                kernel="qi-equity", threshold=5, lens_data=str(ROOT / "data_samples"))


def setup_one_new_kernel():
    return dict(setup_one(), warm=False)


def run_one(job):
    from qi_equity.reports.runner import run_provider

    res = run_provider(job)
    assert res["status"] == "ok", res


def _collab(workers):
    def run(out):
        from qi_equity.reports.runner import run as run_reports

        shutil.rmtree(out, ignore_errors=True)
        res = run_reports(CONFIG, out, workers=workers, progress=False)
        assert res["ok"], res
    return run


BENCHMARKS = {
    "report_one_provider": dict(setup=setup_one, run=run_one, warmup=True,
                                note="validate (alongside the notebook) + papermill + nbconvert + metrics for XQB (~10,000 pathways, every "
                                     "lens section) on a worker's warm kernel, as the runner does after its first "
                                     "report"),
    "report_one_provider_new_kernel": dict(setup=setup_one_new_kernel, run=run_one, warmup=True,
                                           note="the same with a new kernel for the report (kernel start and "
                                                "imports included): a worker's first report"),
    "sample_collaborative_1_worker": dict(setup=_out, run=_collab(1), warmup=False,
                                          note="5 provider reports + collaborative report + index"),
    "sample_collaborative_2_workers": dict(setup=_out, run=_collab(2), warmup=False,
                                           note="5 provider reports + collaborative report + index"),
}
