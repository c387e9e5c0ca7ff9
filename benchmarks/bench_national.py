"""National scale: a 7.5-million-pathway extract (200 providers) -> monthly aggregates with
DuckDB; SPC for every resulting series in one call; metrics for every provider without HTML.

The extract is generated once into benchmarks/.out/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent / ".out"
NATIONAL = OUT / "national_7_5m.parquet"
CENSUS = "2026-03-31"


def _extract():
    if not NATIONAL.exists():
        # generated in a process of its own, so that a benchmark's peak RSS is its own work's
        import subprocess
        import sys

        subprocess.run([sys.executable, "-c", "import sys; from qi_equity.data import national; "
                        "national.generate(sys.argv[1], n_providers=200, pathways=7_500_000)", str(NATIONAL)],
                       check=True)
    return NATIONAL


def setup_aggregate():
    return _extract()


def run_aggregate(path):
    from qi_equity.ingest import monthly_measures_duckdb

    agg = monthly_measures_duckdb(path, CENSUS, by_specialty=True)
    assert agg["provider_code"].nunique() == 200


def _aggregate():
    from qi_equity.ingest import monthly_measures_duckdb

    cache = OUT / "national_aggregate.parquet"
    if not cache.exists():
        monthly_measures_duckdb(_extract(), CENSUS, by_specialty=True).to_parquet(cache)
    return pd.read_parquet(cache)


def setup_spc():
    from qi_equity.measures import MEASURES

    agg = _aggregate()
    agg.loc[~(agg["denominator"] > 0), "value"] = float("nan")
    agg["improvement"] = agg["measure"].map({k: m.improvement for k, m in MEASURES.items()})
    return agg


def run_spc(agg):
    from qi_equity.variation import spc

    res = spc(agg, value="value", date="month", by=["provider_code", "specialty", "dimension", "group", "measure"],
              improvement="improvement")
    assert len(res.summary) > 100_000


def setup_metrics():
    return _aggregate()


def run_metrics(agg):
    from qi_equity.publication.metrics import write_metrics_from_aggregate

    out = Path(tempfile.mkdtemp(prefix="qi-national-metrics-"))
    try:
        assert len(write_metrics_from_aggregate(agg, out, CENSUS, workers=os.cpu_count() or 1)) == 200
    finally:
        shutil.rmtree(out, ignore_errors=True)


README_AGGREGATE = ["aggregate", "{extract}", "--census-date", CENSUS, "--by-specialty", "--out", "{out}", "--internal"]


def run_command(argv) -> dict:
    """Run ``qi-equity ARGV`` as a process (as a user runs it); its own peak resident memory
    (``wait4``'s rusage of that child alone)."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("qi-equity")
    proc = subprocess.Popen([str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else
                            ["-m", "qi_equity.cli"]), *argv], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, f"qi-equity {' '.join(argv)} exited {proc.returncode}"
    return {"child_peak_rss_mib": usage.ru_maxrss / 1024}


def setup_readme_aggregate():
    out = Path(tempfile.mkdtemp(prefix="qi-readme-aggregate-"))
    return [a.format(extract=_extract(), out=out / "agg.parquet") for a in README_AGGREGATE]


def _count_series():
    return None


BENCHMARKS = {
    "national_7_5m_pathways_to_monthly_aggregates_duckdb": dict(
        setup=setup_aggregate, run=run_aggregate, warmup=False,
        note="200 providers, month x provider x specialty x equity group, 7 measures (peak RSS includes DuckDB)"),
    "readme_national_aggregate_command_process": dict(
        setup=setup_readme_aggregate, run=run_command, warmup=False,
        note="the README's `qi-equity aggregate national.parquet --census-date 2026-03-31 --by-specialty --out "
             "agg.parquet --internal` as a whole process (start-up, engine choice by rows, DuckDB, writing "
             "8.9M rows); peak RSS is the process's own (target under 15 s and 1 GB)"),
    "national_spc_every_series_one_call": dict(
        setup=setup_spc, run=run_spc, warmup=False,
        note="XmR + rules + Anhøj for every provider x specialty x group x measure series"),
    "national_metrics_all_providers_no_html": dict(
        setup=setup_metrics, run=run_metrics, warmup=False,
        note="suppression + icons + one metrics file per provider, from the aggregate"),
}


# every provider of the national extract by default (5 runs of about 9 minutes); fewer for a quick
# look (QI_BENCH_HTML_PROVIDERS=20), and the 200-provider time is then scaled from them
HTML_PROVIDERS = int(__import__("os").environ.get("QI_BENCH_HTML_PROVIDERS", "200"))


def setup_html():
    """The first HTML_PROVIDERS providers of the national extract, one Parquet file each, and a
    collaborative config for them (no lens data: the national extract has none)."""
    import pyarrow.parquet as pq
    import yaml

    folder = OUT / f"national_html_{HTML_PROVIDERS}"
    config = folder / "collaborative.yaml"
    if not config.exists():
        folder.mkdir(parents=True, exist_ok=True)
        f = pq.ParquetFile(_extract())
        providers = []
        for i in range(min(HTML_PROVIDERS, f.num_row_groups)):  # one row group per provider
            t = f.read_row_group(i)
            code = t.column("provider_code")[0].as_py()
            pq.write_table(t, folder / f"{code}.parquet")
            providers.append({"code": code, "name": f"Provider {code}", "extract": f"{code}.parquet"})
        config.write_text(yaml.safe_dump({"name": "national", "title": "National sample", "census_date": CENSUS,
                                          "providers": providers}))
    return config


def run_html(config):
    from qi_equity.reports.runner import run

    out = Path(tempfile.mkdtemp(prefix="qi-national-html-"))
    try:
        res = run(config, out, workers=2, progress=False, collaborative=False)
        assert res["ok"], [p for p in res["providers"] if p["status"] != "ok"][:2]
    finally:
        shutil.rmtree(out, ignore_errors=True)


BENCHMARKS["national_html_reports_2_workers"] = dict(
    setup=setup_html, run=run_html, warmup=False, series=HTML_PROVIDERS,  # median of 5 runs (about 45 minutes)
    scale_to=200 if HTML_PROVIDERS < 200 else None, unit="providers",
    note=f"validate + notebook + HTML + metrics for {HTML_PROVIDERS} national-size providers (~37,500 pathways "
         "each) on 2 warm workers (a new pool and kernels each run)"
         + ("; the 200-provider time is scaled from it" if HTML_PROVIDERS < 200 else ""))
